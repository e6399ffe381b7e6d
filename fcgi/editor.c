/*
 * The clip editor's script (fcgi/editor.js, built into the program by the
 * Makefile as build/editor_js.c) and what the job page needs to load it:
 * its versioned address and the selects it clones.  The address carries a
 * hash of the script, so a browser may keep it for a year: a new build
 * changes the address.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "extern.h"

extern const char editor_js[];

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
	buf_printf(b, "<script src=\"/static/editor.js?v=%08x\" defer>"
	    "</script>\n", text_hash(editor_js, strlen(editor_js)));
}

/* GET /static/editor.js. */
void
route_editor_js(struct req *r)
{
	char etag[16], hdr[160];
	const char *inm = param(r, "HTTP_IF_NONE_MATCH");

	snprintf(etag, sizeof(etag), "\"%08x\"", text_hash(editor_js,
	    strlen(editor_js)));
	snprintf(hdr, sizeof(hdr), "Cache-Control: public, max-age=31536000, "
	    "immutable\r\nETag: %s\r\n", etag);
	if (inm != NULL && strcmp(inm, etag) == 0) {
		respond(r, 304, NULL, hdr, "", 0);
		return;
	}
	respond(r, 200, "text/javascript; charset=utf-8", hdr, editor_js,
	    strlen(editor_js));
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
