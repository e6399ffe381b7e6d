/*
 * A clip's words as subtitle files (SubRip and WebVTT) that creators
 * upload beside the video: a few words a cue, at most two lines of
 * SUBTITLES_LINE characters, a cue never across a sentence's end.
 */
#ifndef CLIPMILL_SUBTITLES_H
#define CLIPMILL_SUBTITLES_H

#include <stddef.h>

#include "transcript.h"

#define SUBTITLES_LINE	42	/* characters (code points) a line */

enum subtitles_format {
	SUBTITLES_SRT,
	SUBTITLES_VTT
};

/*
 * The subtitles (allocated, NUL-terminated; caller frees) in FMT for the
 * clip [START, END) of the source whose transcript has W's N words (the
 * words the render's captions show, transcript_span()), in clip time.  A
 * clip without words gives an empty SubRip file, a WebVTT header alone.
 * NULL when out of memory or past the size cap.
 */
char	*subtitles_make(const struct word *w, size_t n, double start,
	    double end, enum subtitles_format fmt);

#endif
