/*
 * The transcript and loudness as the transcribe stage stores them
 * (transcript.json, loudness.json), read with size caps and range checks.
 * Selection scores them; the render's captions and the web front's
 * subtitles read the same words.
 */
#ifndef CLIPMILL_TRANSCRIPT_H
#define CLIPMILL_TRANSCRIPT_H

#include <stddef.h>
#include <jansson.h>

struct word {
	double	 start, end;	/* seconds from the source start */
	double	 conf;
	char	*text;
	int	 sent_end;	/* last word of a sentence or segment */
};

struct segment {
	double	 start, end;
	size_t	 w0, w1;	/* its words: [w0, w1) */
	char	*text;
};

struct transcript {
	char		 language[16];	/* "en", or "" when unknown */
	double		 duration;
	int		 no_audio;
	struct word	*w;
	size_t		 nw;
	struct segment	*seg;
	size_t		 nseg;
	double		 loud_interval;	/* seconds per loudness value */
	double		*loud;		/* dBFS, or NULL */
	size_t		 nloud;
};

/* Read transcript.json (and LOUD_PATH, loudness.json, when not NULL) with
 * size caps and range checks.  0, or -1 with a sentence in ERR. */
int	transcript_load(const char *path, const char *loud_path,
	    struct transcript *t, char *err, size_t errlen);
void	transcript_free(struct transcript *);

/* The words of a clip [START, END) of the source, as its captions and
 * subtitles show them: [*FIRST, *LAST] of W's N words.  0, or -1 when no
 * word falls in the clip. */
int	transcript_span(const struct word *w, size_t n, double start,
	    double end, size_t *first, size_t *last);

/* Whether word I of W lies in the clip [START, END) by transcript_span()'s
 * rule: the words a clip's captions and subtitles show. */
int	transcript_in_clip(const struct word *w, double start, double end);

/*
 * W's N words with a clip's edits applied (clips.edits: {"words": {"<i>":
 * "text"}, "removed": [i, ...]}, i an index into W): corrected words keep
 * their times, removed ones are left out (a sentence's end moves to the
 * word before).  A new array (caller frees the array only) of *OUTN words
 * whose texts point into W or EDITS, which must outlive it; NULL when out
 * of memory.  Indices out of range are ignored.
 */
struct word *transcript_edited(const struct word *w, size_t n,
	    const json_t *edits, size_t *outn);

#endif
