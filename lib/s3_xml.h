/*
 * Just enough XML for S3's answers (errors, InitiateMultipartUpload,
 * ListObjectsV2): the text of the next <TAG>...</TAG> element, entities
 * decoded.  S3's answers are flat and machine-written, so a tag scanner is
 * enough; anything else is "not found".
 */
#ifndef CLIPMILL_S3_XML_H
#define CLIPMILL_S3_XML_H

#include <stddef.h>

/*
 * Find the first <TAG>text</TAG> in XML at or after *POS (an offset,
 * updated to just past the element when POS is not NULL).  Copies the
 * decoded text to OUT (OUTLEN bytes, NUL-terminated).  Returns 0, or -1
 * when there is no such element or its text does not fit.
 */
int	s3_xml_text(const char *xml, const char *tag, size_t *pos, char *out,
	    size_t outlen);

#endif
