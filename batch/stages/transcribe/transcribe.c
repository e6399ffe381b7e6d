/*
 * The transcribe stage: the source's speech as timed words, and its
 * loudness, for the selector and the captions.
 *
 * Steps: decode the audio to 16 kHz mono PCM in the scratch directory
 * (audio.c, streamed) while computing the loudness envelope; store
 * jobs/{id}/loudness.json; recognise words with the job's backend
 * (asr_sphinx.c offline, or asr_openai.c); group words into segments; store
 * jobs/{id}/transcript.json.  Transcription never fails the job: when the
 * service fails the offline recogniser is used, and when that fails too the
 * transcript is empty; each is a "fallback" event the user can read.
 *
 * transcript.json (version 1), written by both backends:
 *   {"version": 1,
 *    "backend": "pocketsphinx" | "openai",
 *    "model": "en-us" | the service's model name,
 *    "language": "en" | "" (unknown),
 *    "duration": seconds of audio transcribed,
 *    "no_audio": true when the source has no sound track (segments empty),
 *    "segments": [{"start": s, "end": s, "text": "words joined by spaces",
 *                  "words": [{"word": "hello", "start": s, "end": s,
 *                             "confidence": 0..1}]}]}
 * Times are seconds from the source's start, rounded to milliseconds; words
 * are in time order, noise and filler tokens removed.  A segment ends at a
 * sentence end (when the backend gives punctuation; then "text" ends with
 * it), at a pause of PAUSE_S or more, or once it is longer than SEG_SOFT_S
 * at the next gap of GAP_SOFT_S, and never runs past SEG_HARD_S.
 * loudness.json: {"interval": 0.1, "dbfs": [RMS dBFS of each 100 ms, -100
 * for digital silence]}.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "asr.h"
#include "media/audio.h"
#include "media/probe.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "runner/stage.h"
#include "util.h"

#define PAUSE_S		0.6
#define SEG_SOFT_S	15.0
#define GAP_SOFT_S	0.2
#define SEG_HARD_S	30.0

static double
ms(double s)
{
	return round(s * 1000) / 1000;
}

json_t *
transcript_segments(const struct asr_words *w)
{
	json_t *segs = json_array(), *seg = NULL, *words = NULL;
	struct buf text;
	size_t i;
	double seg_start = 0;

	buf_init(&text, 0);
	if (segs == NULL)
		return NULL;
	for (i = 0; i < w->n; i++) {
		const struct asr_word *x = &w->v[i];
		int last, brk;
		double gap;

		if (seg == NULL) {
			seg_start = x->start;
			words = json_array();
			text.len = 0;
		}
		if (words == NULL || json_array_append_new(words, json_pack(
		    "{sssfsfsf}", "word", x->word, "start", ms(x->start),
		    "end", ms(x->end), "confidence", ms(x->conf))) == -1 ||
		    (text.len > 0 && buf_addstr(&text, " ") == -1) ||
		    buf_addstr(&text, x->word) == -1)
			goto fail;
		seg = words;
		last = i + 1 == w->n;
		gap = last ? 0 : w->v[i + 1].start - x->end;
		brk = last || x->punct != 0 || gap >= PAUSE_S ||
		    (x->end - seg_start >= SEG_SOFT_S && gap >= GAP_SOFT_S) ||
		    (!last && w->v[i + 1].end - seg_start > SEG_HARD_S);
		if (!brk)
			continue;
		if (x->punct != 0 && buf_add(&text, &x->punct, 1) == -1)
			goto fail;
		if (json_array_append_new(segs, json_pack("{sf sf ss% so}",
		    "start", ms(seg_start), "end", ms(x->end), "text",
		    text.data, text.len, "words", words)) == -1) {
			words = NULL;
			goto fail;
		}
		seg = words = NULL;
	}
	buf_free(&text);
	return segs;
fail:
	json_decref(words);
	json_decref(segs);
	buf_free(&text);
	return NULL;
}

/* A string option of the job, else DEF. */
static const char *
job_opt(const json_t *job, const char *k, const char *def)
{
	const char *v = json_string_value(json_object_get(json_object_get(job,
	    "options"), k));

	return v != NULL && *v != '\0' ? v : def;
}

/* Store the local file PATH at jobs/ID/NAME; KEY receives the key. */
static int
put(struct task_ctx *ctx, long long id, const char *name, const char *path,
    char *key, size_t keylen, char *err, size_t errlen)
{
	if (xsnprintf(key, keylen, "jobs/%lld/%s", id, name) == -1) {
		seterr(err, errlen, "key too long");
		return -1;
	}
	return store_put(ctx->store, key, path, "application/json", err,
	    errlen) == STORE_OK ? 0 : -1;
}

static enum stage_rc
transcribe_run(struct task_ctx *ctx, json_t **result, char *err, size_t errlen)
{
	const json_t *job = ctx->task->job;
	const char *skey, *backend, *lang;
	char src[4096], pcm[4096], lpath[4096], tpath[4096], model[128] = "";
	char lkey[128], tkey[128], aerr[512] = "";
	struct audio au;
	struct asr_words words = { NULL, 0, 0 };
	struct asr_input in;
	json_t *tr = NULL, *segs = NULL;
	json_int_t id;
	enum stage_rc rc = STAGE_TRANSIENT;
	enum audio_rc ar;
	enum asr_rc sr = ASR_FAILED;
	char *lp;
	double conf = 0;
	size_t i;
	int no_audio = 0;

	memset(&au, 0, sizeof(au));
	id = json_integer_value(json_object_get(job, "id"));
	skey = json_string_value(json_object_get(job, "source_key"));
	backend = job_opt(job, "transcribe_backend", cfg.transcribe_backend);
	lang = job_opt(job, "language", cfg.transcribe_language);
	if (strcmp(backend, "openai") != 0)
		backend = "pocketsphinx";
	if (id <= 0 || skey == NULL || !store_key_valid(skey)) {
		seterr(err, errlen, "The job has no stored source to "
		    "transcribe.");
		return STAGE_PERMANENT;
	}
	if (xsnprintf(pcm, sizeof(pcm), "%s/audio.pcm", ctx->scratch) == -1 ||
	    xsnprintf(lpath, sizeof(lpath), "%s/loudness.json", ctx->scratch) ||
	    xsnprintf(tpath, sizeof(tpath), "%s/transcript.json", ctx->scratch)) {
		seterr(err, errlen, "scratch path too long");
		return STAGE_TRANSIENT;
	}
	/* The file store's own file when there is one: no copy. */
	if ((lp = store_local_path(ctx->store, skey)) != NULL &&
	    access(lp, R_OK) == 0 && xsnprintf(src, sizeof(src), "%s", lp) == 0) {
		free(lp);
	} else {
		free(lp);
		if (xsnprintf(src, sizeof(src), "%s/source", ctx->scratch) == -1 ||
		    store_get(ctx->store, skey, src, err, errlen) != STORE_OK)
			return STAGE_TRANSIENT;
	}
	task_progress(ctx, 0, "extracting audio");
	ar = audio_extract(ctx, src, probe_job_format(ctx->task->job), pcm,
	    &au, 0, 30, aerr, sizeof(aerr));
	if (ar == AUDIO_CANCELLED)
		return STAGE_CANCELLED;
	if (ar == AUDIO_NONE) {
		no_audio = 1;
		task_event(ctx, "fallback", "The video has no sound track, so "
		    "there is no transcript; clips are chosen without speech.",
		    NULL);
	} else if (ar == AUDIO_ERROR) {
		no_audio = 1;
		task_event(ctx, "fallback", "The sound track could not be "
		    "decoded, so there is no transcript; clips are chosen "
		    "without speech.", NULL);
		log_ev(LOG_WARN, "audio_failed", "{sIss}", "job", id, "why", aerr);
	}
	if (audio_write_loudness(&au, lpath, err, errlen) == -1 ||
	    put(ctx, id, "loudness.json", lpath, lkey, sizeof(lkey), err,
	    errlen) == -1)
		goto out;

	memset(&in, 0, sizeof(in));
	in.ctx = ctx;
	in.audio = &au;
	in.pcm_path = pcm;
	in.scratch = ctx->scratch;
	in.language = lang;
	in.pct0 = 30;
	in.pct1 = 95;
	if (!no_audio && strcmp(backend, "openai") == 0) {
		sr = asr_openai(&in, &words, model, sizeof(model), aerr,
		    sizeof(aerr));
		if (sr == ASR_FAILED) {
			json_t *d = json_pack("{ss}", "error", aerr);
			char msg[768];
			snprintf(msg, sizeof(msg), "The transcription service "
			    "failed (%s); the offline recogniser was used "
			    "instead.", aerr);
			task_event(ctx, "fallback", msg, d);
			json_decref(d);
			words.n = 0;
			backend = "pocketsphinx";
		}
	}
	if (!no_audio && strcmp(backend, "pocketsphinx") == 0) {
		if (*lang != '\0' && strncmp(lang, "en", 2) != 0) {
			char msg[256];
			snprintf(msg, sizeof(msg), "The offline recogniser knows "
			    "only English; the speech (%s) was transcribed as "
			    "English.", lang);
			task_event(ctx, "fallback", msg, NULL);
		}
		lang = "en";
		sr = asr_sphinx(&in, &words, model, sizeof(model), aerr,
		    sizeof(aerr));
		if (sr == ASR_FAILED) {
			char msg[768];
			snprintf(msg, sizeof(msg), "Speech could not be "
			    "transcribed (%s); clips are chosen without the "
			    "transcript.", aerr);
			task_event(ctx, "fallback", msg, NULL);
			words.n = 0;
		}
	}
	if (sr == ASR_CANCELLED) {
		rc = STAGE_CANCELLED;
		goto out;
	}
	if (model[0] == '\0')
		snprintf(model, sizeof(model), "%s", strcmp(backend, "openai") ?
		    "en-us" : cfg.transcribe_model);
	for (i = 0; i < words.n; i++)
		conf += words.v[i].conf;
	conf = words.n ? conf / (double)words.n : 0;
	if ((segs = transcript_segments(&words)) == NULL ||
	    (tr = json_pack("{sisssssssfsbso}", "version", 1, "backend",
	    backend, "model", model, "language", lang, "duration",
	    ms((double)au.samples / AUDIO_RATE), "no_audio", no_audio,
	    "segments", segs)) == NULL) {
		seterr(err, errlen, "out of memory");
		goto out;
	}
	segs = NULL;
	if (json_dump_file(tr, tpath, JSON_COMPACT | JSON_REAL_PRECISION(9)) ==
	    -1) {
		seterr(err, errlen, "cannot write %s", tpath);
		goto out;
	}
	if (put(ctx, id, "transcript.json", tpath, tkey, sizeof(tkey), err,
	    errlen) == -1)
		goto out;
	*result = json_pack("{sssssssssfsIsb}", "transcript_key", tkey,
	    "loudness_key", lkey, "backend", backend, "model", model,
	    "mean_confidence", ms(conf), "words", (json_int_t)words.n,
	    "no_audio", no_audio);
	if (*result == NULL) {
		seterr(err, errlen, "out of memory");
		goto out;
	}
	task_progress(ctx, 100, "transcribed %zu words", words.n);
	rc = STAGE_OK;
out:
	unlink(pcm);
	json_decref(segs);
	json_decref(tr);
	asr_words_free(&words);
	audio_free(&au);
	return rc;
}

static int
transcribe_done(PGconn *c, const struct task *t, json_t *result, char *err,
    size_t errlen)
{
	(void)result;
	if (queue_add_task(c, t->job_id, 0, "select", NULL, err, errlen) == -1 ||
	    queue_notify_stage(c, "select", err, errlen) == -1)
		return -1;
	return 0;
}

const struct stage stage_transcribe = {
	.name = "transcribe",
	.isolated = 1,
	.cap = &cfg.cap_transcribe,
	.run = transcribe_run,
	.done = transcribe_done,
};
