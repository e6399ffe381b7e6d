/*
 * The offline recogniser: pocketsphinx with Debian's en-us model.
 *
 * Long audio is cut at quiet points into chunks of at most
 * cfg.transcribe_chunk_s seconds (audio_split), and up to
 * cfg.transcribe_workers processes decode them.  The decoder (about 110 MB,
 * mostly the language model) is loaded once, then the workers are forked
 * from it: they share its pages copy-on-write, where threads would each
 * need a decoder of their own.  Workers take chunk numbers from a pipe,
 * read that chunk from the PCM file, and write its words to a file of
 * their own; memory is bounded by the decoder and one chunk per worker,
 * whatever the length.  pocketsphinx's log goes to pocketsphinx.log in the
 * scratch directory, not to stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pocketsphinx.h>
#include <sphinxbase/err.h>

#include "asr.h"
#include "media/audio.h"
#include "config.h"
#include "log.h"
#include "runner/stage.h"
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

/* Noise and filler tokens are not words: <s>, </s>, <sil>, [NOISE],
 * ++UH++ and the like. */
static int
filler(const char *w)
{
	return w[0] == '<' || w[0] == '[' || (w[0] == '+' && w[1] == '+');
}

struct sjob {
	const struct asr_input *in;
	ps_decoder_t	*ps;
	size_t		*bounds;
	long		 nchunks;
};

static int
chunk_file(const struct sjob *j, long c, char *path, size_t len)
{
	return xsnprintf(path, len, "%s/words-%ld.tsv", j->in->scratch, c);
}

/* Decode chunk C and write its words, one "word start end conf" line
 * each, to its file.  0 or -1 with ERR. */
static int
decode_chunk(struct sjob *j, long c, char *err, size_t errlen)
{
	long long from = (long long)j->bounds[c] * AUDIO_ENV_SAMPLES;
	long long to = (long long)j->bounds[c + 1] * AUDIO_ENV_SAMPLES;
	logmath_t *lmath = ps_get_logmath(j->ps);
	double off = (double)from / AUDIO_RATE;
	char path[4096];
	ps_seg_t *seg;
	short *s = NULL;
	FILE *f;
	int rc = -1;

	if (chunk_file(j, c, path, sizeof(path)) == -1 ||
	    (f = fopen(path, "w")) == NULL) {
		seterr(err, errlen, "cannot write the words of part %ld", c);
		return -1;
	}
	if (to > j->in->audio->samples)
		to = j->in->audio->samples;
	if (to - from < AUDIO_RATE / 10) {
		rc = 0;		/* under 100 ms: nothing to hear */
		goto out;
	}
	if ((s = audio_read(j->in->pcm_path, from, to - from, err, errlen)) ==
	    NULL)
		goto out;
	if (ps_start_utt(j->ps) < 0 ||
	    ps_process_raw(j->ps, s, (size_t)(to - from), FALSE, TRUE) < 0 ||
	    ps_end_utt(j->ps) < 0) {
		seterr(err, errlen, "pocketsphinx could not decode part %ld", c);
		goto out;
	}
	for (seg = ps_seg_iter(j->ps); seg != NULL; seg = ps_seg_next(seg)) {
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
		fprintf(f, "%s\t%.3f\t%.3f\t%.4f\n", word, off + sf / 100.0,
		    off + (ef + 1) / 100.0, logmath_exp(lmath, prob));
	}
	rc = 0;
out:
	free(s);
	if (fclose(f) != 0 && rc == 0) {
		seterr(err, errlen, "cannot write the words of part %ld", c);
		rc = -1;
	}
	return rc;
}

/* A worker process: chunk numbers in from WORK, "done C" or "fail C msg"
 * lines out to STATUS.  Never returns. */
static void
worker(struct sjob *j, int work, int status)
{
	char err[256], line[320];
	int32_t c;
	int n;

	signal(SIGPIPE, SIG_DFL);
	while (read(work, &c, sizeof(c)) == (ssize_t)sizeof(c)) {
		if (c < 0 || c >= j->nchunks)
			_exit(2);
		err[0] = '\0';
		if (decode_chunk(j, c, err, sizeof(err)) == -1)
			n = snprintf(line, sizeof(line), "fail %d %s\n", c, err);
		else
			n = snprintf(line, sizeof(line), "done %d\n", c);
		/* lines are shorter than PIPE_BUF: one atomic write each */
		if (write(status, line, (size_t)n) != n)
			_exit(3);
	}
	_exit(0);
}

/* Append chunk C's words from its file to OUT. */
static int
collect(const struct sjob *j, long c, struct asr_words *out, char *err,
    size_t errlen)
{
	char path[4096], line[256], *t1, *t2, *t3;
	double s, e, conf;
	FILE *f;
	int rc = 0;

	if (chunk_file(j, c, path, sizeof(path)) == -1 ||
	    (f = fopen(path, "r")) == NULL) {
		seterr(err, errlen, "the words of part %ld are missing", c);
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if ((t1 = strchr(line, '\t')) == NULL ||
		    (t2 = strchr(t1 + 1, '\t')) == NULL ||
		    (t3 = strchr(t2 + 1, '\t')) == NULL)
			continue;
		*t1++ = *t2++ = *t3++ = '\0';
		if (parse_double(t1, 0, 1e7, &s) || parse_double(t2, 0, 1e7, &e) ||
		    parse_double(t3, 0, 2, &conf))
			continue;
		if (asr_words_add(out, line, s, e, conf) == -1) {
			seterr(err, errlen, "out of memory");
			rc = -1;
		}
	}
	fclose(f);
	unlink(path);
	return rc;
}

/* The loaded recogniser: its configuration and its log file. */
struct model {
	cmd_ln_t	*config;
	FILE		*logf;
};

/* Load pocketsphinx's model into J->ps, its log to the scratch
 * directory.  0, or -1 with ERR; model_free() either way. */
static int
model_load(struct sjob *j, struct model *m, char *err, size_t errlen)
{
	const char *md = asr_sphinx_model_dir();
	char hmm[4096], lm[4096], dict[4096], logp[4096];
	struct stat sb;

	if (xsnprintf(hmm, sizeof(hmm), "%s/en-us", md) == -1 ||
	    xsnprintf(lm, sizeof(lm), "%s/en-us.lm.bin", md) == -1 ||
	    xsnprintf(dict, sizeof(dict), "%s/cmudict-en-us.dict", md) == -1 ||
	    xsnprintf(logp, sizeof(logp), "%s/pocketsphinx.log",
	    j->in->scratch) == -1) {
		seterr(err, errlen, "model path too long");
		return -1;
	}
	if (stat(hmm, &sb) == -1 || stat(lm, &sb) == -1 ||
	    stat(dict, &sb) == -1) {
		seterr(err, errlen, "The offline speech model is not installed "
		    "(looked in %s).", md);
		return -1;
	}
	/* Its log is chatty and would drown ours: keep it in a file. */
	if ((m->logf = fopen(logp, "a")) == NULL) {
		seterr(err, errlen, "cannot write %s: %s", logp, strerror(errno));
		return -1;
	}
	err_set_logfp(m->logf);
	if (task_progress(j->in->ctx, j->in->pct0, "loading the speech model"))
		return 1;
	/*
	 * Faster than pocketsphinx's defaults at the same or a lower word
	 * error rate on the test speech (CPU seconds for 174 s of it looped,
	 * WER against its text): defaults 34.6 s, WER 0.46; -maxhmmpf 3000
	 * -pl_window 10: 21.3 s, 0.47; with -fwdflat no (no second,
	 * flat-lexicon pass) and -topn 2: 13.9 s, 0.43.  Not -maxwpf: with
	 * -fwdflat no it loses a third of the words (WER 0.58).  The
	 * best-path pass stays: without its lattice every confidence reads 1.
	 */
	m->config = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", hmm, "-lm", lm,
	    "-dict", dict, "-maxhmmpf", "3000", "-pl_window", "10",
	    "-fwdflat", "no", "-topn", "2", NULL);
	if (m->config == NULL || (j->ps = ps_init(m->config)) == NULL) {
		seterr(err, errlen, "pocketsphinx could not load its model from "
		    "%s (see pocketsphinx.log)", md);
		return -1;
	}
	return 0;
}

static void
model_free(struct sjob *j, struct model *m)
{
	if (j->ps != NULL)
		ps_free(j->ps);
	j->ps = NULL;
	if (m->config != NULL)
		cmd_ln_free_r(m->config);
	if (m->logf != NULL) {
		err_set_logfp(NULL);
		fclose(m->logf);
	}
	memset(m, 0, sizeof(*m));
}

/* Report DONE of J's chunks as progress: 1 when the task must stop. */
static int
chunk_progress(const struct sjob *j, long done)
{
	const struct asr_input *in = j->in;

	return task_progress(in->ctx, in->pct0 + (int)((in->pct1 - in->pct0) *
	    done / j->nchunks), "transcribing: %ld of %ld parts", done,
	    j->nchunks);
}

/* One worker: decode every chunk here, no processes to manage.  0, 1
 * when cancelled, or -1 with ERR. */
static int
decode_here(struct sjob *j, char *err, size_t errlen)
{
	long i;

	for (i = 0; i < j->nchunks; i++) {
		if (chunk_progress(j, i))
			return 1;
		if (decode_chunk(j, i, err, errlen) == -1)
			return -1;
	}
	return 0;
}

/* The worker processes and their pipes. */
struct pool {
	pid_t	pids[64];
	long	nw;		/* started, besides the parent */
	int	work[2], status[2];
	int	mine;		/* the parent still takes chunks */
	int	hup;		/* the status pipe closed */
	long	done;		/* chunks decoded */
	char	sbuf[4096];	/* status lines not yet read whole */
	size_t	slen;
};

/* Fill the work pipe with every chunk number and start W - 1 workers
 * (the parent is the W-th).  0, or -1 with ERR. */
static int
pool_start(struct sjob *j, struct pool *p, long w, char *err, size_t errlen)
{
	long i;

	if (pipe2(p->work, O_CLOEXEC) == -1 ||
	    pipe2(p->status, O_CLOEXEC) == -1) {
		seterr(err, errlen, "cannot make a pipe: %s", strerror(errno));
		return -1;
	}
	/* The whole work list goes in first: a few bytes a chunk. */
	for (i = 0; i < j->nchunks; i++) {
		int32_t c = (int32_t)i;

		if (write(p->work[1], &c, sizeof(c)) != (ssize_t)sizeof(c)) {
			seterr(err, errlen, "cannot queue the work");
			return -1;
		}
	}
	close(p->work[1]);
	p->work[1] = -1;
	fflush(NULL);
	/* The parent is one of the W workers: it holds the model already,
	 * and each other process costs ~55 MB of search state of its own
	 * (measured: t_transcribe's peak Pss). */
	for (p->nw = 0; p->nw < w - 1; p->nw++) {
		if ((p->pids[p->nw] = fork()) == -1)
			break;
		if (p->pids[p->nw] == 0) {
			close(p->status[0]);
			worker(j, p->work[0], p->status[1]);
		}
	}
	close(p->status[1]);
	p->status[1] = -1;
	p->mine = 1;
	return 0;
}

/* Take the whole "done C" / "fail C msg" lines in P's status buffer.
 * -1 with ERR at the first failure, else 0. */
static int
pool_status_lines(struct pool *p, char *err, size_t errlen)
{
	char *nl;
	int rc = 0;

	while ((nl = strchr(p->sbuf, '\n')) != NULL) {
		*nl = '\0';
		if (strncmp(p->sbuf, "done ", 5) == 0)
			p->done++;
		else if (rc == 0) {
			seterr(err, errlen, "%s", p->sbuf);
			rc = -1;
		}
		p->slen -= (size_t)(nl + 1 - p->sbuf);
		memmove(p->sbuf, nl + 1, p->slen + 1);
	}
	return rc;
}

/* One round of the parent's loop: decode a chunk of its own while there
 * are any, then read what the workers say.  0, or -1 with ERR. */
static int
pool_step(struct sjob *j, struct pool *p, char *err, size_t errlen)
{
	struct pollfd pf = { p->status[0], POLLIN, 0 };
	ssize_t r;
	int32_t c;

	if (p->mine) {
		/* 4-byte reads from a pipe are atomic: each chunk goes to
		 * exactly one process. */
		if (read(p->work[0], &c, sizeof(c)) == (ssize_t)sizeof(c) &&
		    c >= 0 && c < j->nchunks) {
			if (decode_chunk(j, c, err, errlen) == -1)
				return -1;
			p->done++;
		} else
			p->mine = 0;
	}
	if (p->hup || poll(&pf, 1, p->mine ? 0 : 1000) <= 0) {
		/* The workers are gone (finished or died): what they left
		 * undone, nobody will do. */
		if (p->hup && !p->mine && p->done < j->nchunks) {
			seterr(err, errlen, "a transcription process died");
			return -1;
		}
		return 0;
	}
	r = read(p->status[0], p->sbuf + p->slen, sizeof(p->sbuf) - 1 -
	    p->slen);
	if (r <= 0) {
		p->hup = 1;
		return 0;
	}
	p->slen += (size_t)r;
	p->sbuf[p->slen] = '\0';
	return pool_status_lines(p, err, errlen);
}

/* Decode J's chunks in W processes.  0, 1 when cancelled, or -1 with
 * ERR; pool_end() either way. */
static int
decode_pool(struct sjob *j, struct pool *p, long w, char *err, size_t errlen)
{
	if (pool_start(j, p, w, err, errlen) == -1)
		return -1;
	/* Progress and cancel from here, between the parent's own chunks;
	 * then wait for the workers' last ones. */
	while (p->done < j->nchunks) {
		if (chunk_progress(j, p->done))
			return 1;
		if (pool_step(j, p, err, errlen) == -1)
			return -1;
	}
	return 0;
}

/* Wait for P's workers, killed first unless they are done (OK). */
static void
pool_end(struct pool *p, int ok)
{
	long i;
	int st;

	for (i = 0; i < p->nw; i++) {
		if (!ok)
			kill(p->pids[i], SIGKILL);
		while (waitpid(p->pids[i], &st, 0) == -1 && errno == EINTR)
			;
	}
	for (i = 0; i < 2; i++) {
		if (p->work[i] != -1)
			close(p->work[i]);
		if (p->status[i] != -1)
			close(p->status[i]);
	}
}

enum asr_rc
asr_sphinx(const struct asr_input *in, struct asr_words *out, char *model,
    size_t modellen, char *err, size_t errlen)
{
	struct sjob j;
	struct model m;
	struct pool *p;
	long i, w;
	int r;
	enum asr_rc rc = ASR_FAILED;

	memset(&j, 0, sizeof(j));
	memset(&m, 0, sizeof(m));
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		seterr(err, errlen, "out of memory");
		return ASR_FAILED;
	}
	p->work[0] = p->work[1] = p->status[0] = p->status[1] = -1;
	j.in = in;
	snprintf(model, modellen, "en-us");
	j.nchunks = audio_split(in->audio->dbfs, in->audio->ndbfs,
	    (size_t)cfg.transcribe_chunk_s * AUDIO_ENV_HZ, &j.bounds);
	if (j.nchunks < 0) {
		seterr(err, errlen, "out of memory");
		r = -1;
	} else
		r = model_load(&j, &m, err, errlen);
	if (r == 0) {
		w = cfg.transcribe_workers;
		if (w > j.nchunks)
			w = j.nchunks;
		if (w > (long)(sizeof(p->pids) / sizeof(p->pids[0])))
			w = (long)(sizeof(p->pids) / sizeof(p->pids[0]));
		r = w <= 1 ? decode_here(&j, err, errlen) :
		    decode_pool(&j, p, w, err, errlen);
	}
	for (i = 0; r == 0 && i < j.nchunks; i++)
		if (collect(&j, i, out, err, errlen) == -1)
			r = -1;
	if (r == 0) {
		log_ev(LOG_INFO, "asr_sphinx_done", "{sIsisI}", "chunks",
		    (json_int_t)j.nchunks, "workers", (int)(p->nw + 1),
		    "words", (json_int_t)out->n);
		rc = ASR_OK;
	}
	pool_end(p, rc == ASR_OK);
	if (r == 1) {
		seterr(err, errlen, "The transcription was cancelled.");
		rc = ASR_CANCELLED;
	}
	model_free(&j, &m);
	free(j.bounds);
	free(p);
	return rc;
}
