/* A bounded scanner for the flat XML S3 answers with (see s3_xml.h). */
#include <string.h>

#include "s3_xml.h"
#include "util.h"

static const struct {
	const char *ent;
	char ch;
} entities[] = {
	{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
	{ "&quot;", '"' }, { "&apos;", '\'' }, { "&#34;", '"' },
	{ "&#39;", '\'' },
};

int
s3_xml_text(const char *xml, const char *tag, size_t *pos, char *out,
    size_t outlen)
{
	char open[80], close[80];
	const char *start, *p, *end;
	size_t n = 0, i, tl;

	if (outlen == 0 || xsnprintf(open, sizeof(open), "<%s>", tag) == -1 ||
	    xsnprintf(close, sizeof(close), "</%s>", tag) == -1)
		return -1;
	start = xml + (pos != NULL ? *pos : 0);
	if ((p = strstr(start, open)) == NULL)
		return -1;
	p += strlen(open);
	if ((end = strstr(p, close)) == NULL)
		return -1;
	while (p < end) {
		char ch = *p++;

		if (ch == '&') {
			for (i = 0; i < sizeof(entities) / sizeof(entities[0]); i++) {
				tl = strlen(entities[i].ent) - 1;
				if ((size_t)(end - p) >= tl &&
				    strncmp(p, entities[i].ent + 1, tl) == 0) {
					ch = entities[i].ch;
					p += tl;
					break;
				}
			}
		}
		if (n + 1 >= outlen)
			return -1;
		out[n++] = ch;
	}
	out[n] = '\0';
	if (pos != NULL)
		*pos = (size_t)(end - xml) + strlen(close);
	return 0;
}
