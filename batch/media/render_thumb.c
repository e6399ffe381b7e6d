/*
 * The clip's thumbnail: one output frame, half size, as a JPEG.
 */
#include <stdio.h>

#include <libswscale/swscale.h>

#include "render_int.h"
#include "util.h"

int
write_thumb(const AVFrame *f, const char *path, char *err, size_t errlen)
{
	const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
	AVCodecContext *c = NULL;
	struct SwsContext *sws = NULL;
	AVFrame *j = NULL;
	AVPacket *pkt = NULL;
	FILE *fp = NULL;
	int rc = -1, e, tw = f->width / 2 & ~1, th = f->height / 2 & ~1;

	if (codec == NULL || (c = avcodec_alloc_context3(codec)) == NULL ||
	    (j = av_frame_alloc()) == NULL || (pkt = av_packet_alloc()) == NULL) {
		seterr(err, errlen, "The thumbnail encoder could not start.");
		goto out;
	}
	c->width = tw;
	c->height = th;
	c->pix_fmt = AV_PIX_FMT_YUVJ420P;
	c->time_base = (AVRational){1, 25};
	c->flags |= AV_CODEC_FLAG_QSCALE;
	c->global_quality = FF_QP2LAMBDA * 3;
	j->format = c->pix_fmt;
	j->width = tw;
	j->height = th;
	if ((e = avcodec_open2(c, codec, NULL)) < 0 ||
	    (e = av_frame_get_buffer(j, 0)) < 0) {
		averr(err, errlen, "The thumbnail encoder could not start", e);
		goto out;
	}
	sws = sws_getContext(f->width, f->height, f->format, tw, th,
	    AV_PIX_FMT_YUVJ420P, SWS_BICUBIC, NULL, NULL, NULL);
	if (sws == NULL) {
		seterr(err, errlen, "The thumbnail could not be scaled.");
		goto out;
	}
	sws_scale(sws, (const uint8_t *const *)f->data, f->linesize, 0,
	    f->height, j->data, j->linesize);
	j->pts = 0;
	if ((e = avcodec_send_frame(c, j)) < 0 ||
	    (e = avcodec_send_frame(c, NULL)) < 0 ||
	    (e = avcodec_receive_packet(c, pkt)) < 0) {
		averr(err, errlen, "The thumbnail could not be encoded", e);
		goto out;
	}
	if ((fp = fopen(path, "wb")) == NULL ||
	    fwrite(pkt->data, 1, (size_t)pkt->size, fp) != (size_t)pkt->size) {
		seterr(err, errlen, "The thumbnail could not be written.");
		goto out;
	}
	rc = 0;
out:
	if (fp && fclose(fp) != 0 && rc == 0) {
		seterr(err, errlen, "The thumbnail could not be written.");
		rc = -1;
	}
	sws_freeContext(sws);
	av_packet_free(&pkt);
	av_frame_free(&j);
	avcodec_free_context(&c);
	return rc;
}
