/*
 * The offline recogniser: pocketsphinx with Debian's en-us model.
 *
 * Long audio is cut at quiet points into chunks of at most
 * cfg.transcribe_chunk_s seconds (audio_split), and up to
 * cfg.transcribe_workers threads decode them, each with a decoder of its
 * own (a decoder is not shared between threads).  A chunk is read from the
 * PCM file when a worker takes it, so memory is bounded by the workers'
 * decoders and one chunk each, whatever the length.  pocketsphinx's log
 * goes to pocketsphinx.log in the scratch directory, not to stderr.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <pocketsphinx.h>
#include <sphinxbase/err.h>

#include "asr.h"
#include "audio.h"
#include "config.h"
#include "log.h"
#include "stage.h"
#include "util.h"

#ifndef PS_MODELDIR
#define PS_MODELDIR "/usr/share/pocketsphinx/model"
#endif

int
asr_words_add(struct asr_words *w, const char *word, double start, double end,
    double conf)
{
	struct asr_word *x;

	if (w->n == w->cap) {
		size_t nc = w->cap ? w->cap * 2 : 256;
		struct asr_word *nv = realloc(w->v, nc * sizeof(*nv));
		if (nv == NULL)
			return -1;
		w->v = nv;
		w->cap = nc;
	}
	x = &w->v[w->n++];
	snprintf(x->word, sizeof(x->word), "%s", word);
	x->start = start;
	x->end = end < start ? start : end;
	x->conf = conf < 0 ? 0 : conf > 1 ? 1 : conf;
	x->punct = 0;
	return 0;
}

void
asr_words_free(struct asr_words *w)
{
	free(w->v);
	memset(w, 0, sizeof(*w));
}

const char *
asr_sphinx_model_dir(void)
{
	if (cfg.pocketsphinx_model_dir != NULL &&
	    cfg.pocketsphinx_model_dir[0] != '\0')
		return cfg.pocketsphinx_model_dir;
	return PS_MODELDIR "/en-us";
}

struct sjob {
	const struct asr_input *in;
	const char	*hmm, *lm, *dict;
	size_t		*bounds;
	long		 nchunks;
	struct asr_words *words;	/* one list per chunk */
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	long		 next, done;
	int		 stop, failed;
	char		 err[256];
};

/* Noise and filler tokens are not words: <s>, </s>, <sil>, [NOISE],
 * ++UH++ and the like. */
static int
filler(const char *w)
{
	return w[0] == '<' || w[0] == '[' || (w[0] == '+' && w[1] == '+');
}

static int
decode_chunk(struct sjob *j, ps_decoder_t *ps, long c, char *err,
    size_t errlen)
{
	long long from = (long long)j->bounds[c] * AUDIO_ENV_SAMPLES;
	long long to = (long long)j->bounds[c + 1] * AUDIO_ENV_SAMPLES;
	logmath_t *lmath = ps_get_logmath(ps);
	double off = (double)from / AUDIO_RATE;
	ps_seg_t *seg;
	short *s;
	int rc = 0;

	if (to > j->in->audio->samples)
		to = j->in->audio->samples;
	if (to - from < AUDIO_RATE / 10)
		return 0;	/* under 100 ms: nothing to hear */
	if ((s = audio_read(j->in->pcm_path, from, to - from, err, errlen)) ==
	    NULL)
		return -1;
	if (ps_start_utt(ps) < 0 ||
	    ps_process_raw(ps, s, (size_t)(to - from), FALSE, TRUE) < 0 ||
	    ps_end_utt(ps) < 0) {
		seterr(err, errlen, "pocketsphinx could not decode chunk %ld", c);
		free(s);
		return -1;
	}
	free(s);
	for (seg = ps_seg_iter(ps); seg != NULL; seg = ps_seg_next(seg)) {
		const char *w = ps_seg_word(seg);
		char word[64], *paren;
		int sf, ef;
		int32 ascr, lscr, lback, prob;

		if (w == NULL || filler(w))
			continue;
		ps_seg_frames(seg, &sf, &ef);
		prob = ps_seg_prob(seg, &ascr, &lscr, &lback);
		snprintf(word, sizeof(word), "%s", w);
		/* "read(2)" is a pronunciation variant of "read" */
		if ((paren = strchr(word, '(')) != NULL && paren != word)
			*paren = '\0';
		if (rc == 0 && asr_words_add(&j->words[c], word,
		    off + sf / 100.0, off + (ef + 1) / 100.0,
		    logmath_exp(lmath, prob)) == -1) {
			seterr(err, errlen, "out of memory");
			rc = -1;
		}
	}
	return rc;
}

static void *
worker(void *arg)
{
	struct sjob *j = arg;
	cmd_ln_t *config;
	ps_decoder_t *ps = NULL;
	char err[256] = "";
	long c;

	config = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", j->hmm, "-lm", j->lm,
	    "-dict", j->dict, NULL);
	if (config == NULL || (ps = ps_init(config)) == NULL) {
		seterr(err, sizeof(err), "pocketsphinx could not load its model "
		    "from %s (see pocketsphinx.log)", asr_sphinx_model_dir());
		goto fail;
	}
	for (;;) {
		pthread_mutex_lock(&j->mu);
		if (j->stop || j->failed || j->next >= j->nchunks) {
			pthread_mutex_unlock(&j->mu);
			break;
		}
		c = j->next++;
		pthread_mutex_unlock(&j->mu);
		if (decode_chunk(j, ps, c, err, sizeof(err)) == -1)
			goto fail;
		pthread_mutex_lock(&j->mu);
		j->done++;
		pthread_cond_signal(&j->cv);
		pthread_mutex_unlock(&j->mu);
	}
	goto out;
fail:
	pthread_mutex_lock(&j->mu);
	if (!j->failed)
		snprintf(j->err, sizeof(j->err), "%s", err);
	j->failed = 1;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
out:
	if (ps != NULL)
		ps_free(ps);
	if (config != NULL)
		cmd_ln_free_r(config);
	return NULL;
}

enum asr_rc
asr_sphinx(const struct asr_input *in, struct asr_words *out, char *model,
    size_t modellen, char *err, size_t errlen)
{
	const char *md = asr_sphinx_model_dir();
	char hmm[4096], lm[4096], dict[4096], logp[4096];
	pthread_t th[64];
	struct sjob j;
	struct stat sb;
	FILE *logf = NULL;
	long nth = 0, i, w;
	size_t k;
	enum asr_rc rc = ASR_FAILED;

	memset(&j, 0, sizeof(j));
	pthread_mutex_init(&j.mu, NULL);
	pthread_cond_init(&j.cv, NULL);
	snprintf(model, modellen, "en-us");
	if (xsnprintf(hmm, sizeof(hmm), "%s/en-us", md) == -1 ||
	    xsnprintf(lm, sizeof(lm), "%s/en-us.lm.bin", md) == -1 ||
	    xsnprintf(dict, sizeof(dict), "%s/cmudict-en-us.dict", md) == -1 ||
	    xsnprintf(logp, sizeof(logp), "%s/pocketsphinx.log", in->scratch)
	    == -1) {
		seterr(err, errlen, "model path too long");
		goto out;
	}
	if (stat(hmm, &sb) == -1 || stat(lm, &sb) == -1 ||
	    stat(dict, &sb) == -1) {
		seterr(err, errlen, "The offline speech model is not installed "
		    "(looked in %s).", md);
		goto out;
	}
	/* Its log is chatty and would drown ours: keep it in a file. */
	if ((logf = fopen(logp, "a")) == NULL) {
		seterr(err, errlen, "cannot write %s: %s", logp, strerror(errno));
		goto out;
	}
	err_set_logfp(logf);
	j.in = in;
	j.hmm = hmm;
	j.lm = lm;
	j.dict = dict;
	j.nchunks = audio_split(in->audio->dbfs, in->audio->ndbfs,
	    (size_t)cfg.transcribe_chunk_s * AUDIO_ENV_HZ, &j.bounds);
	if (j.nchunks < 0 || (j.words = calloc((size_t)j.nchunks + 1,
	    sizeof(*j.words))) == NULL) {
		seterr(err, errlen, "out of memory");
		goto out;
	}
	w = cfg.transcribe_workers;
	if (w > j.nchunks)
		w = j.nchunks;
	if (w > (long)(sizeof(th) / sizeof(th[0])))
		w = (long)(sizeof(th) / sizeof(th[0]));
	for (nth = 0; nth < w; nth++)
		if (pthread_create(&th[nth], NULL, worker, &j) != 0)
			break;
	if (nth == 0 && j.nchunks > 0) {
		seterr(err, errlen, "cannot start a transcription thread");
		goto out;
	}
	/* Report from this thread only: task_progress is not thread-safe,
	 * and a cancel seen here stops the workers after their chunk. */
	pthread_mutex_lock(&j.mu);
	while (j.done < j.nchunks && !j.failed) {
		struct timespec ts;
		long done = j.done;
		int stop;

		pthread_mutex_unlock(&j.mu);
		stop = task_progress(in->ctx, in->pct0 + (int)((in->pct1 -
		    in->pct0) * done / (j.nchunks ? j.nchunks : 1)),
		    "transcribing: %ld of %ld parts", done, j.nchunks);
		pthread_mutex_lock(&j.mu);
		if (stop) {
			j.stop = 1;
			break;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&j.cv, &j.mu, &ts);
	}
	pthread_mutex_unlock(&j.mu);
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	if (j.stop) {
		seterr(err, errlen, "The transcription was cancelled.");
		rc = ASR_CANCELLED;
		goto out;
	}
	if (j.failed) {
		seterr(err, errlen, "%s", j.err);
		goto out;
	}
	for (i = 0; i < j.nchunks; i++)
		for (k = 0; k < j.words[i].n; k++) {
			const struct asr_word *x = &j.words[i].v[k];
			if (asr_words_add(out, x->word, x->start, x->end,
			    x->conf) == -1) {
				seterr(err, errlen, "out of memory");
				goto out;
			}
		}
	log_ev(LOG_INFO, "asr_sphinx_done", "{sIsisI}", "chunks",
	    (json_int_t)j.nchunks, "workers", (int)nth, "words",
	    (json_int_t)out->n);
	rc = ASR_OK;
out:
	if (logf != NULL) {
		err_set_logfp(NULL);
		fclose(logf);
	}
	for (i = 0; j.words != NULL && i < j.nchunks; i++)
		asr_words_free(&j.words[i]);
	free(j.words);
	free(j.bounds);
	pthread_mutex_destroy(&j.mu);
	pthread_cond_destroy(&j.cv);
	return rc;
}
