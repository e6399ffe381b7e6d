/*
 * S3's XML answers (lib/s3_xml.c s3_xml_text), read as lib/store_s3.c
 * reads them: an error's Code and Message, an upload id, a listing's Keys
 * one after another and its continuation.
 */
#include "s3_xml.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const tags[] = { "Code", "Message", "UploadId",
	    "IsTruncated", "NextContinuationToken", "ETag" };
	char out[1024], small[8], *s;
	size_t pos = 0, i;

	s = fuzz_str(data, size);
	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		s3_xml_text(s, tags[i], NULL, out, sizeof(out));
	s3_xml_text(s, "Code", NULL, small, sizeof(small));
	while (s3_xml_text(s, "Key", &pos, out, sizeof(out)) == 0)
		if (pos > size)
			abort();	/* past the end of the answer */
	free(s);
	return 0;
}
