/* Word-by-word captions as an ASS script for libass (captions.c). */
#ifndef CLIPMILL_CAPTIONS_H
#define CLIPMILL_CAPTIONS_H

#include <stddef.h>

#include "transcript.h"

/* 1 when STYLE names a preset (classic, bold, minimal). */
int	captions_style_valid(const char *style);

/*
 * The ASS script (allocated; caller frees) for the words within [START,
 * END) of the source, re-based to clip time, for a W x H frame: short
 * lines of a few words, the spoken word highlighted, inside the safe area,
 * in preset STYLE with FONT.  NULL with *NONE set when no word falls in
 * the clip (no captions, not an error), or NULL with ERR.
 */
char	*captions_ass(const struct word *w, size_t n, double start, double end,
	    int width, int height, const char *style, const char *font,
	    int *none, char *err, size_t errlen);

#endif
