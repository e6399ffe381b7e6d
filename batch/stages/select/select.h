/*
 * Clip selection over the transcript (media/transcript.h): the offline
 * heuristic (heuristic.c), an OpenAI-compatible chat model (llm.c), and
 * scene changes for sources without speech (scenes.c).
 */
#ifndef CLIPMILL_SELECT_H
#define CLIPMILL_SELECT_H

#include <stddef.h>
#include <jansson.h>
#include "transcript.h"


/* What a score is made of: WHAT earned POINTS of at most MAX (a penalty
 * has a negative MAX and POINTS between it and 0). */
struct score_part {
	const char	*what;		/* a static string */
	double		 points, max;
};
#define SCORE_PARTS	8

/* One chosen clip. */
struct pick {
	double	start, end;
	double	score;		/* 0..100, the parts' sum clamped */
	char	title[128];
	char	reason[256];
	struct score_part part[SCORE_PARTS];
	int	nparts;
};

struct select_req {
	int	clips;		/* how many, 1..10 */
	double	min_len, max_len;
	double	duration;	/* of the source, seconds */
};

/* What the heuristic measured in a clip, for its score and its reason. */
struct clip_figures {
	double	wps;		/* words a second */
	double	speech;		/* share of the clip a word is spoken in, 0..1 */
	double	dead;		/* seconds of pauses over 1.5 s */
	double	loud_sd;	/* spread of the loudness, dB (0: unknown) */
	int	peaks;		/* loudness peaks 6 dB over the mean */
	int	qa;		/* a question, and words after it */
	int	hook;		/* a hook word or a question in the first 4 s */
	int	whole;		/* starts and ends with a sentence */
};

/* The heuristic scorer: at most REQ->clips non-overlapping picks, best
 * first, into OUT (room for REQ->clips).  Returns how many. */
size_t	select_heuristic(const struct transcript *, const struct select_req *,
	    struct pick *out);

/* Whether [START, END) overlaps any of the N picks: the best windows win,
 * and a later one that overlaps them is passed over. */
int	select_overlaps(const struct pick *picks, size_t n, double start,
	    double end);

/* Picks for a video without speech: evenly spaced windows. */
size_t	select_evenly(const struct select_req *, struct pick *out);

/*
 * Scene changes, for a video without speech (scenes.c).  The video
 * is decoded sparsely (reference frames only, or keyframes only when that
 * would take too long) and sampled a few times a second as a 64x36 grey
 * picture; a sample that differs from the one before far more than its
 * neighbours do marks a cut.
 */
struct scene_sample {
	double	t;	/* seconds from the source start */
	double	d;	/* mean absolute difference from the sample before,
			   0..255 (0 for the first) */
};

struct scenes {
	struct scene_sample *s;	/* owned; scenes_free */
	size_t	 n;
	int	 keyframes_only;	/* sampled keyframes only, to save time */
};

/* Returns 1 when the work must stop (the job was cancelled). */
typedef int (*scenes_progress_fn)(void *arg, int pct);

/* Sample the video at PATH (opened as FORMAT, as media_open()) into S
 * (free it with scenes_free).  0, 1 when PROGRESS asked to stop, or -1
 * with a sentence in ERR. */
int	scenes_sample(const char *path, const char *format, struct scenes *s,
	    scenes_progress_fn progress, void *arg, char *err, size_t errlen);
void	scenes_free(struct scenes *);

/* The cuts among N samples: indexes of the samples that open a new shot,
 * in time order, into OUT (room for N).  Returns how many. */
size_t	scenes_cuts(const struct scene_sample *s, size_t n, size_t *out);

/* Picks that start at scene changes: at most REQ->clips non-overlapping
 * windows inside the video, best first (a strong cut, a lively window),
 * into OUT.  Returns how many (0 when the video has no cuts).  *NCUTS,
 * when not NULL, gets the number of cuts found. */
size_t	select_scenes(const struct scenes *, const struct select_req *,
	    struct pick *out, size_t *ncuts);

/* The LLM scorer.  Returns how many picks (>= 1) or -1 with a sentence in
 * ERR for the fallback event (failed call, invalid answer). */
int	select_llm(const struct transcript *, const struct select_req *,
	    struct pick *out, char *err, size_t errlen);

/* Read one chat completion answer (LEN bytes of BODY) asking for clips
 * in T: each valid clip (inside the video, within the length range of
 * RQ, snapped to words) is appended to C, which holds *NC and has room
 * for 256.  0, or -1 with a sentence in ERR when the answer is not the
 * JSON asked for.  Exposed for the fuzz harness (tests/fuzz/llm.c). */
int	select_llm_parse(const char *body, size_t len,
	    const struct transcript *t, const struct select_req *rq,
	    struct pick *c, size_t *nc, char *err, size_t errlen);

/* Snap [*S, *E] to word boundaries and check it against the length range
 * and the video; 0 when it is a valid clip, else -1. */
int	select_snap(const struct transcript *, const struct select_req *,
	    double *s, double *e);

/*
 * The reason for a clip with figures F, into DST (LEN bytes): up to three
 * things that stand out (a question and its answer, a hook, speech that
 * fills it from 70% on at 1.5 words/s or more, loudness varying by 4 dB or
 * more, emphatic peaks, complete sentences), then always its pace in
 * words with the figure: slow under 1.5 words/s, calm under 2.5, engaging
 * to 3.5, fast above; and its pauses over 1.5 s when it has any.
 */
void	select_reason(const struct clip_figures *f, char *dst, size_t len);

/*
 * TEXT as a title into DST (LEN bytes): sentence case (a shouted or Title
 * Case text lowered, acronyms kept, "I" raised, the first letter raised),
 * opening fillers ("and", "so", "um" ...) dropped, whole words up to 60
 * characters, not ending on a word that leaves it hanging ("the", "and"
 * ...) when cut short, nor on a comma or a full stop.  The heuristic
 * takes TEXT from the clip's most informative sentence; the LLM's titles
 * pass through here too.
 */
void	select_title(char *dst, size_t len, const char *text);

#endif
