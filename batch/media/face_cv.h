/*
 * Face detection: a C interface over OpenCV's cv::CascadeClassifier
 * (OpenCV 4.6 has no C API for cascades).  Create the detector in the
 * task's child process, never before the runner forks: OpenCV starts
 * threads.
 */
#ifndef CLIPMILL_FACE_CV_H
#define CLIPMILL_FACE_CV_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct face_box {
	int	x, y, w, h;	/* pixels of the image passed in */
};

struct face_det;

/* Load the Haar cascade at PATH; NULL with a sentence in ERR. */
struct face_det *face_det_open(const char *path, char *err, size_t errlen);
void	face_det_close(struct face_det *);

/* Detect faces in an 8-bit grey image (W x H, STRIDE bytes per row) no
 * smaller than MIN_SIZE pixels, the image's histogram equalised first
 * when EQUALIZE (it helps dim pictures, and hides small faces in a
 * picture mostly of one flat colour).  Writes at most MAX boxes to OUT
 * and returns how many were found (capped at MAX), or -1 on an OpenCV
 * error. */
int	face_det_run(struct face_det *, const unsigned char *grey, int w,
	    int h, int stride, int min_size, int equalize,
	    struct face_box *out, int max);

#ifdef __cplusplus
}
#endif

#endif
