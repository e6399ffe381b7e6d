/*
 * Face detection: MediaPipe's BlazeFace run through OpenCV's DNN module,
 * behind a C interface (OpenCV 4.6 has no C API).  Create the detector in
 * the task's child process, never before the runner forks: OpenCV starts
 * threads.
 */
#ifndef CLIPMILL_FACE_CV_H
#define CLIPMILL_FACE_CV_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct AVFrame;

/* BlazeFace's six key points, in its order. */
enum face_kp {
	FACE_EYE_R,	/* the subject's right eye (on the picture's left) */
	FACE_EYE_L,
	FACE_NOSE,
	FACE_MOUTH,
	FACE_EAR_R,
	FACE_EAR_L,
	FACE_NKP
};

struct face_box {
	int	x, y, w, h;	/* pixels of the frame passed in */
	float	score;		/* the detector's confidence, 0..1 */
	struct {
		float	x, y;
	}	kp[FACE_NKP];	/* key points, same pixels (not rounded:
				   the mouth's movement is a pixel or two) */
};

/* The models' files in the model directory (cfg.face_model_dir): the
 * full-range one finds faces, the close-range one follows them. */
#define FACE_MODEL_FULL  "face_detection_back_256x256_barracuda.onnx"
#define FACE_MODEL_CLOSE "face_detection_front_128x128_barracuda.onnx"

struct face_det;

/* Load the models from DIR (NULL or empty: DATADIR/blazeface, where make
 * install puts them); NULL with a sentence naming the file that is
 * missing or broken in ERR.  Free with face_det_close(). */
struct face_det *face_det_open(const char *dir, char *err, size_t errlen);
void	face_det_close(struct face_det *);

/*
 * Find the faces in a decoded video frame (any size and pixel format):
 * writes at most MAX boxes, largest first, in F's pixels to OUT and
 * returns how many (capped at MAX), or -1 on an error.  The whole frame
 * is one look for the model, which finds faces down to about a twelfth
 * of the frame's longer side; TILED looks at squares of its shorter side
 * (three for 16:9, at three times the cost), down to about a thirtieth.
 */
int	face_det_frame(struct face_det *, const struct AVFrame *f, int tiled,
	    struct face_box *out, int max);

/* The same, looking only about the NPREV faces PREV found in an earlier
 * frame (a fifth of the cost of a whole look for one face): the faces
 * that are still there, and new ones only if they come close. */
int	face_det_track(struct face_det *, const struct AVFrame *f,
	    const struct face_box *prev, int nprev, struct face_box *out,
	    int max);

#ifdef __cplusplus
}
#endif

#endif
