/*
 * The clip editor's script (fcgi/editor.js, built into the program by
 * contrib/embed-file.sh as build/editor_js.c) and what the job page needs
 * to load it: its versioned address and the selects it clones.  The
 * address carries the script's SHA-256, so a browser may keep it for a
 * year: a new build changes the address.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "extern.h"

extern const unsigned char editor_js[];
extern const size_t editor_js_len;
extern const char editor_js_etag[];	/* "HEX" */

/* FNV-1a of S, LEN bytes. */
uint32_t
text_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

/* <script> loading the editor, by its versioned address. */
void
editor_script(struct buf *b)
{
	buf_printf(b, "<script src=\"/static/editor.js?v=%.16s\" defer>"
	    "</script>\n", editor_js_etag + 1);
}

/* GET /static/editor.js. */
void
route_editor_js(struct req *r)
{
	char hdr[200];

	snprintf(hdr, sizeof(hdr), "Cache-Control: public, max-age=31536000, "
	    "immutable\r\nETag: %s\r\n", editor_js_etag);
	if (etag_match(param(r, "HTTP_IF_NONE_MATCH"), editor_js_etag)) {
		respond(r, 304, NULL, hdr, "", 0);
		return;
	}
	respond(r, 200, "text/javascript; charset=utf-8", hdr,
	    (const char *)editor_js, editor_js_len);
}

/* One <select data-f=KEY> with the words of job field NAME, its default
 * selected (the editor sets the clip's own value). */
static void
editor_select(struct buf *b, const char *name, const char *key,
    const char *label)
{
	const struct jobfield *f = jobspec_field(name);
	size_t i;

	if (f == NULL || f->words == NULL)
		return;
	buf_printf(b, "<label>%s <select data-f=\"%s\" data-def=\"", label, key);
	html_esc(b, f->def != NULL ? f->def : f->words[0]);
	buf_addstr(b, "\">");
	for (i = 0; f->words[i] != NULL; i++) {
		buf_addstr(b, "<option>");
		html_esc(b, f->words[i]);
		buf_addstr(b, "</option>");
	}
	buf_addstr(b, "</select></label>");
}

/* The selects every editor clones. */
void
editor_template(struct buf *b)
{
	buf_addstr(b, "<template id=\"editor-options\">");
	editor_select(b, "aspects", "aspect", "Aspect");
	editor_select(b, "layout", "layout", "Layout");
	editor_select(b, "caption_style", "caption_style", "Captions");
	buf_addstr(b, "</template>\n");
}
