/*
 * Crop paths: from face detections sampled across a clip to a smooth,
 * steady camera window of the requested aspect inside the source frame.
 * Pure computation (crop_path.c), shared by the frame stage, which plans
 * the path, and the render stage, which follows it frame by frame.
 */
#ifndef CLIPMILL_CROP_H
#define CLIPMILL_CROP_H

#include <stddef.h>
#include <jansson.h>

#include "face_cv.h"

#define CROP_MAX_FACES 8

/* Faces found in one sampled frame, in source pixels; T from clip start. */
struct crop_sample {
	double		t;
	int		n;
	struct face_box	box[CROP_MAX_FACES];
};

struct crop_point {
	double	t;	/* seconds from the clip start */
	int	x, y;	/* top-left corner of the crop in source pixels */
	int	cut;	/* 1: jump here (new subject), do not glide from before */
	double	fx, fy;	/* the subject's face centre, or -1 when not seen */
};

struct crop_path {
	int	src_w, src_h;
	int	crop_w, crop_h;
	size_t	n;
	struct crop_point *pt;	/* owned; crop_path_free */
	int	has_face;	/* 0: no face anywhere, centre crop */
	int	face_samples;	/* samples where the subject was detected */
	double	face_in_crop;	/* share of those with its centre in the crop */
	double	reversals_per_s; /* camera direction reversals per second */
};

/* Aspect "W:H" (9:16, 1:1, 4:5 ...) into its two numbers; 0 or -1. */
int	crop_parse_aspect(const char *aspect, int *aw, int *ah);

/* The largest even-sized window of aspect AW:AH inside SRC_W x SRC_H. */
void	crop_size(int src_w, int src_h, int aw, int ah, int *cw, int *ch);

/*
 * Plan the crop path of one clip of DURATION seconds from N samples:
 * link detections into tracks, drop isolated ones, pick the subject (the
 * most persistent and largest face), and move a camera with a dead zone,
 * a speed limit and no quick reversals, cutting only when the subject
 * changes for longer than about half a second.  Without faces the path
 * is a centred window (has_face 0).  OUT is filled (free it with
 * crop_path_free); 0, or -1 with ERR on allocation failure.
 */
int	crop_plan(const struct crop_sample *s, size_t n, double duration,
	    int src_w, int src_h, int aw, int ah, struct crop_path *out,
	    char *err, size_t errlen);
void	crop_path_free(struct crop_path *);

/* The window's top-left corner at time T (seconds from the clip start). */
void	crop_at(const struct crop_path *, double t, int *x, int *y);

/* One path to and from JSON.  The JSON is a new reference; from_json
 * checks every number against the frame. */
json_t	*crop_path_json(const struct crop_path *);
int	crop_path_from_json(json_t *, struct crop_path *, char *err,
	    size_t errlen);

/*
 * A clip's framing: what the frame stage stores at
 * jobs/{job}/crop/{clip}.json and the render follows.
 *   track  one window of the output's aspect follows the subject: pane[0].
 *   split  the output is two stacked halves, each W x H/2; pane[0] (top)
 *          and pane[1] (bottom) each follow one face with a window of that
 *          half's aspect.
 *   fit    no window: the whole frame scaled to the output width, centred
 *          over a blurred, darkened copy of itself that fills the output.
 *          No panes.
 * REASON says, for the user, why the layout was chosen.
 */
enum crop_layout { LAYOUT_TRACK, LAYOUT_SPLIT, LAYOUT_FIT };
#define CROP_PANES	2

struct crop_frame {
	enum crop_layout layout;
	int		 npanes;	/* track 1, split 2, fit 0 */
	struct crop_path pane[CROP_PANES];
	char		 reason[200];
};

/* "track", "split", "fit"; and back (0, or -1 for another word). */
const char *crop_layout_name(enum crop_layout);
int	crop_layout_parse(const char *, enum crop_layout *);

/* To and from the stored form, {"version": 2, "layout", "reason",
 * "panes": [path...]}.  from_json also takes the version 1 form (one bare
 * path) as a track.  0, or -1 with ERR; free with crop_frame_free. */
json_t	*crop_frame_json(const struct crop_frame *);
int	crop_frame_from_json(json_t *, struct crop_frame *, char *err,
	    size_t errlen);
void	crop_frame_free(struct crop_frame *);

/*
 * Planning a whole framing (crop_frame_plan): the speaker is chosen from
 * mouth movement (BlazeFace's mouth key point against the eye line, over
 * time), weighted by the audio's loudness at that time when AU is given.
 */
struct crop_audio {
	const double	*db;		/* dBFS per INTERVAL from the source start */
	size_t		 n;
	double		 interval;
	double		 t0;		/* the clip's start in the source */
};

/* What a plan measured, for clips.quality. */
struct crop_figures {
	double	face_in_picture; /* share of samples with the subject's box
				    wholly in the picture; -1: no face */
	double	upscale;	/* source pixels to output pixels */
	double	reversals_per_s; /* all panes together */
	int	face_samples;	/* samples where a pane's subject was seen */
	double	face_in_crop;	/* share with its centre in the crop; -1 */
	int	speakers;	/* faces that were seen speaking */
	int	has_face;
};

/* The layouts' thresholds: above FIT_UPSCALE a crop would be too soft,
 * so auto shows the whole picture (720p to 9:16 is 2.67: still a crop,
 * with a warning above WARN_UPSCALE). */
#define CROP_FIT_UPSCALE	2.75
#define CROP_WARN_UPSCALE	2.5
#define CROP_WARN_FACE		0.8

/*
 * Plan clip's framing for an OUT_W x OUT_H output: LAYOUT is -1 (auto)
 * or a layout the job asks for, which is kept when it can be (a split
 * needs two faces: otherwise the reason says what was done instead).
 * AU may be NULL.  OUT (crop_frame_free) and FIG are filled; 0, or -1
 * with ERR on allocation failure.
 */
int	crop_frame_plan(const struct crop_sample *s, size_t n, double duration,
	    int src_w, int src_h, int out_w, int out_h,
	    const struct crop_audio *au, int layout, struct crop_frame *out,
	    struct crop_figures *fig, char *err, size_t errlen);

/* The warning for a clip's card (a sentence) into BUF, or 0 when none
 * is due: 1 when one was written. */
int	crop_warning(enum crop_layout, const struct crop_figures *,
	    char *buf, size_t len);

#endif
