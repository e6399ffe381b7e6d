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
#include "keys.h"
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

/* The audio track: decoded to PCM in the scratch directory (AU),
 * loudness stored at LKEY.  *NO_AUDIO is set (and the user told) when
 * there is no sound to transcribe; that is not a failure. */
static enum stage_rc
transcribe_audio(struct task_ctx *ctx, long long id, const char *src,
    const char *pcm, struct audio *au, int *no_audio, char *lkey,
    size_t lkeylen, char *err, size_t errlen)
{
	char lpath[4096], aerr[512] = "";
	enum audio_rc ar;

	if (xsnprintf(lpath, sizeof(lpath), "%s/loudness.json", ctx->scratch)) {
		seterr(err, errlen, "scratch path too long");
		return STAGE_TRANSIENT;
	}
	task_progress(ctx, 0, "extracting audio");
	ar = audio_extract(ctx, src, probe_job_format(ctx->task->job), pcm, au,
	    0, 30, aerr, sizeof(aerr));
	if (ar == AUDIO_CANCELLED)
		return STAGE_CANCELLED;
	if (ar == AUDIO_NONE) {
		*no_audio = 1;
		task_event(ctx, "fallback", "The video has no sound track, so "
		    "there is no transcript; clips are chosen without speech.",
		    NULL);
	} else if (ar == AUDIO_ERROR) {
		*no_audio = 1;
		task_event(ctx, "fallback", "The sound track could not be "
		    "decoded, so there is no transcript; clips are chosen "
		    "without speech.", NULL);
		log_ev(LOG_WARN, "audio_failed", "{sIss}", "job", id, "why", aerr);
	}
	if (audio_write_loudness(au, lpath, err, errlen) == -1)
		return STAGE_TRANSIENT;
	if (key_job_loudness(lkey, lkeylen, id) == -1) {
		seterr(err, errlen, "key too long");
		return STAGE_TRANSIENT;
	}
	return stage_put(ctx, lkey, lpath, "application/json", err, errlen);
}

/* Recognise the words of IN with *BACKEND, falling back to the offline
 * recogniser, and to no words, each time telling the user.  *BACKEND and
 * *LANG say what was used; MODEL receives the model's name.  ASR_OK (the
 * words may be none) or ASR_CANCELLED. */
static enum asr_rc
transcribe_words(struct task_ctx *ctx, const struct asr_input *in,
    const char **backend, const char **lang, struct asr_words *words,
    char *model, size_t modellen)
{
	char aerr[512] = "", msg[768];
	enum asr_rc sr = ASR_FAILED;

	if (strcmp(*backend, "openai") == 0) {
		sr = asr_openai(in, words, model, modellen, aerr, sizeof(aerr));
		if (sr == ASR_FAILED) {
			json_t *d = json_pack("{ss}", "error", aerr);

			snprintf(msg, sizeof(msg), "The transcription service "
			    "failed (%s); the offline recogniser was used "
			    "instead.", aerr);
			task_event(ctx, "fallback", msg, d);
			json_decref(d);
			words->n = 0;
			*backend = "pocketsphinx";
		}
	}
	if (strcmp(*backend, "pocketsphinx") == 0) {
		if (**lang != '\0' && strncmp(*lang, "en", 2) != 0) {
			snprintf(msg, sizeof(msg), "The offline recogniser knows "
			    "only English; the speech (%s) was transcribed as "
			    "English.", *lang);
			task_event(ctx, "fallback", msg, NULL);
		}
		*lang = "en";
		sr = asr_sphinx(in, words, model, modellen, aerr, sizeof(aerr));
		if (sr == ASR_FAILED) {
			snprintf(msg, sizeof(msg), "Speech could not be "
			    "transcribed (%s); clips are chosen without the "
			    "transcript.", aerr);
			task_event(ctx, "fallback", msg, NULL);
			words->n = 0;
		}
	}
	return sr == ASR_CANCELLED ? ASR_CANCELLED : ASR_OK;
}

/* What transcript.json says besides the words. */
struct tx_meta {
	const char	*backend, *model, *lang;
	double		 duration;
	int		 no_audio;
};

/* Write transcript.json for WORDS to the scratch directory and store it
 * at TKEY. */
static enum stage_rc
transcribe_store(struct task_ctx *ctx, long long id, const struct asr_words
    *words, const struct tx_meta *m, char *tkey, size_t tkeylen, char *err,
    size_t errlen)
{
	char tpath[4096];
	json_t *tr, *segs;
	enum stage_rc rc = STAGE_TRANSIENT;

	if (xsnprintf(tpath, sizeof(tpath), "%s/transcript.json",
	    ctx->scratch) == -1 || key_job_transcript(tkey, tkeylen, id) == -1) {
		seterr(err, errlen, "scratch path or key too long");
		return STAGE_TRANSIENT;
	}
	if ((segs = transcript_segments(words)) == NULL ||
	    (tr = json_pack("{sisssssssfsbso}", "version", 1, "backend",
	    m->backend, "model", m->model, "language", m->lang, "duration",
	    ms(m->duration), "no_audio", m->no_audio, "segments", segs)) ==
	    NULL) {
		/* "o" steals SEGS even when the pack fails */
		seterr(err, errlen, "out of memory");
		return STAGE_TRANSIENT;
	}
	if (json_dump_file(tr, tpath, JSON_COMPACT | JSON_REAL_PRECISION(9)) ==
	    -1)
		seterr(err, errlen, "cannot write %s", tpath);
	else
		rc = stage_put(ctx, tkey, tpath, "application/json", err,
		    errlen);
	json_decref(tr);
	return rc;
}

static enum stage_rc
transcribe_run(struct task_ctx *ctx, json_t **result, char *err, size_t errlen)
{
	const json_t *job = ctx->task->job;
	const char *skey;
	char *src = NULL, pcm[4096], model[128] = "";
	char lkey[KEY_MAX], tkey[KEY_MAX];
	struct audio au;
	struct asr_words words = { NULL, 0, 0 };
	struct asr_input in;
	struct tx_meta m;
	json_int_t id;
	enum stage_rc rc;
	double conf = 0;
	size_t i;

	memset(&au, 0, sizeof(au));
	memset(&m, 0, sizeof(m));
	id = json_integer_value(json_object_get(job, "id"));
	skey = json_string_value(json_object_get(job, "source_key"));
	m.backend = job_opt(job, "transcribe_backend", cfg.transcribe_backend);
	m.lang = job_opt(job, "language", cfg.transcribe_language);
	if (strcmp(m.backend, "openai") != 0)
		m.backend = "pocketsphinx";
	if (id <= 0 || skey == NULL || !store_key_valid(skey)) {
		seterr(err, errlen, "The job has no stored source to "
		    "transcribe.");
		return STAGE_PERMANENT;
	}
	if (xsnprintf(pcm, sizeof(pcm), "%s/audio.pcm", ctx->scratch) == -1) {
		seterr(err, errlen, "scratch path too long");
		return STAGE_TRANSIENT;
	}
	if ((rc = stage_input(ctx, skey, "source", &src, err, errlen)) !=
	    STAGE_OK)
		return rc;
	if ((rc = transcribe_audio(ctx, id, src, pcm, &au, &m.no_audio, lkey,
	    sizeof(lkey), err, errlen)) != STAGE_OK)
		goto out;

	memset(&in, 0, sizeof(in));
	in.ctx = ctx;
	in.audio = &au;
	in.pcm_path = pcm;
	in.scratch = ctx->scratch;
	in.language = m.lang;
	in.pct0 = 30;
	in.pct1 = 95;
	if (!m.no_audio && transcribe_words(ctx, &in, &m.backend, &m.lang,
	    &words, model, sizeof(model)) == ASR_CANCELLED) {
		rc = STAGE_CANCELLED;
		goto out;
	}
	if (model[0] == '\0')
		snprintf(model, sizeof(model), "%s", strcmp(m.backend, "openai") ?
		    "en-us" : cfg.transcribe_model);
	m.model = model;
	m.duration = (double)au.samples / AUDIO_RATE;
	if ((rc = transcribe_store(ctx, id, &words, &m, tkey, sizeof(tkey),
	    err, errlen)) != STAGE_OK)
		goto out;
	for (i = 0; i < words.n; i++)
		conf += words.v[i].conf;
	conf = words.n ? conf / (double)words.n : 0;
	*result = json_pack("{sssssssssfsIsb}", "transcript_key", tkey,
	    "loudness_key", lkey, "backend", m.backend, "model", model,
	    "mean_confidence", ms(conf), "words", (json_int_t)words.n,
	    "no_audio", m.no_audio);
	if (*result == NULL) {
		seterr(err, errlen, "out of memory");
		rc = STAGE_TRANSIENT;
		goto out;
	}
	task_progress(ctx, 100, "transcribed %zu words", words.n);
out:
	unlink(pcm);
	free(src);
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
