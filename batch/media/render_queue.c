/*
 * The queue between the render's producer thread and its encoder thread
 * (render_clip.c): at most CAP (up to QUEUE_CAP) frames in flight, and a pool of
 * output frames given back once encoded.
 */
#include <pthread.h>
#include <string.h>

#include "render_int.h"

/* A video frame from the pool, or NULL when it is empty. */
AVFrame *
fq_take(struct fq *q)
{
	AVFrame *f = NULL;

	pthread_mutex_lock(&q->mu);
	if (q->npool > 0)
		f = q->pool[--q->npool];
	pthread_mutex_unlock(&q->mu);
	if (f != NULL && av_frame_make_writable(f) < 0)
		av_frame_free(&f);
	return f;
}

void
fq_give(struct fq *q, AVFrame *f)
{
	pthread_mutex_lock(&q->mu);
	if (q->npool < q->cap + POOL_CAP - QUEUE_CAP) {
		q->pool[q->npool++] = f;
		f = NULL;
	}
	pthread_mutex_unlock(&q->mu);
	av_frame_free(&f);
}

/* Queue F, or drop it once the render has stopped.  F NULL is the end of
 * the stream, which always gets through, so that the encoder loop ends. */
void
fq_put(struct fq *q, AVFrame *f, int audio)
{
	pthread_mutex_lock(&q->mu);
	while (q->n == q->cap && (f == NULL || !q->failed))
		pthread_cond_wait(&q->cv, &q->mu);
	if (q->failed && f != NULL) {
		pthread_mutex_unlock(&q->mu);
		av_frame_free(&f);
		return;
	}
	q->it[(q->head + q->n) % QUEUE_CAP].f = f;
	q->it[(q->head + q->n) % QUEUE_CAP].audio = audio;
	q->n++;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

int
fq_failed(struct fq *q)
{
	int f;

	pthread_mutex_lock(&q->mu);
	f = q->failed;
	pthread_mutex_unlock(&q->mu);
	return f;
}

/* The encoder gave up, or the render was cancelled: the producer stops
 * and what is queued is dropped. */
void
fq_stop(struct fq *q)
{
	pthread_mutex_lock(&q->mu);
	q->failed = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

struct item
fq_get(struct fq *q)
{
	struct item it;

	pthread_mutex_lock(&q->mu);
	while (q->n == 0)
		pthread_cond_wait(&q->cv, &q->mu);
	it = q->it[q->head];
	it.stop = q->failed;
	q->head = (q->head + 1) % QUEUE_CAP;
	q->n--;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return it;
}

void
fq_init(struct fq *q, int cap)
{
	memset(q, 0, sizeof(*q));
	q->cap = cap < 1 ? 1 : cap > QUEUE_CAP ? QUEUE_CAP : cap;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
}

/* After both threads are done: the pool's frames go. */
void
fq_destroy(struct fq *q)
{
	while (q->npool > 0)
		av_frame_free(&q->pool[--q->npool]);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
}
