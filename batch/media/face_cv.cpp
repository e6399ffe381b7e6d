/*
 * The OpenCV shim behind face_cv.h.  Exceptions never cross into C: every
 * entry point catches them and returns an error value.
 */
#include <new>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include <stdio.h>

#include "face_cv.h"

struct face_det {
	cv::CascadeClassifier	cascade;
};

extern "C" struct face_det *
face_det_open(const char *path, char *err, size_t errlen)
{
	face_det *d = nullptr;

	try {
		d = new face_det;
		if (!d->cascade.load(path)) {
			snprintf(err, errlen, "The face detector could not "
			    "load its cascade file %s.", path);
			delete d;
			return nullptr;
		}
		return d;
	} catch (const std::exception &e) {
		snprintf(err, errlen, "The face detector failed to start: %s",
		    e.what());
		delete d;
		return nullptr;
	}
}

extern "C" void
face_det_close(struct face_det *d)
{
	delete d;
}

extern "C" int
face_det_run(struct face_det *d, const unsigned char *grey, int w, int h,
    int stride, int min_size, int equalize, struct face_box *out, int max)
{
	try {
		/* The Mat borrows the caller's pixels; equalising needs a copy. */
		cv::Mat in(h, w, CV_8UC1, const_cast<unsigned char *>(grey),
		    (size_t)stride);
		cv::Mat eq;
		if (equalize)
			cv::equalizeHist(in, eq);
		else
			eq = in;
		std::vector<cv::Rect> faces;
		d->cascade.detectMultiScale(eq, faces, 1.15, 4, 0,
		    cv::Size(min_size, min_size));
		int n = 0;
		for (const cv::Rect &r : faces) {
			if (n >= max)
				break;
			out[n].x = r.x;
			out[n].y = r.y;
			out[n].w = r.width;
			out[n].h = r.height;
			n++;
		}
		return n;
	} catch (const std::exception &) {
		return -1;
	}
}
