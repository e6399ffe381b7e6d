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

enum asr_rc
asr_sphinx(const struct asr_input *in, struct asr_words *out, char *model,
    size_t modellen, char *err, size_t errlen)
{
	const char *md = asr_sphinx_model_dir();
	char hmm[4096], lm[4096], dict[4096], logp[4096];
	char sbuf[4096];
	size_t slen = 0;
	pid_t pids[64];
	int work[2] = { -1, -1 }, status[2] = { -1, -1 };
	struct sjob j;
	struct stat sb;
	cmd_ln_t *config = NULL;
	FILE *logf = NULL;
	long nw = 0, i, w, done = 0;
	int cancelled = 0, failed = 0, mine = 1, hup = 0;
	enum asr_rc rc = ASR_FAILED;

	memset(&j, 0, sizeof(j));
	j.in = in;
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
	j.nchunks = audio_split(in->audio->dbfs, in->audio->ndbfs,
	    (size_t)cfg.transcribe_chunk_s * AUDIO_ENV_HZ, &j.bounds);
	if (j.nchunks < 0) {
		seterr(err, errlen, "out of memory");
		goto out;
	}
	if (task_progress(in->ctx, in->pct0, "loading the speech model")) {
		cancelled = 1;
		goto out;
	}
	/*
	 * Faster than pocketsphinx's defaults at the same or a lower word
	 * error rate on the test speech (CPU seconds for 174 s of it looped,
	 * WER against its text): defaults 34.6 s, WER 0.46; -maxhmmpf 3000
	 * -pl_window 10: 21.3 s, 0.47; with -fwdflat no (no second,
	 * flat-lexicon pass) and -topn 2: 13.9 s, 0.43.  Not -maxwpf: with
	 * -fwdflat no it loses a third of the words (WER 0.58).  The
	 * best-path pass stays: without its lattice every confidence reads 1.
	 */
	config = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", hmm, "-lm", lm,
	    "-dict", dict, "-maxhmmpf", "3000", "-pl_window", "10",
	    "-fwdflat", "no", "-topn", "2", NULL);
	if (config == NULL || (j.ps = ps_init(config)) == NULL) {
		seterr(err, errlen, "pocketsphinx could not load its model from "
		    "%s (see pocketsphinx.log)", md);
		goto out;
	}
	w = cfg.transcribe_workers;
	if (w > j.nchunks)
		w = j.nchunks;
	if (w > (long)(sizeof(pids) / sizeof(pids[0])))
		w = (long)(sizeof(pids) / sizeof(pids[0]));
	if (w <= 1) {
		/* One worker: decode here, no processes to manage. */
		for (i = 0; i < j.nchunks; i++) {
			if (task_progress(in->ctx, in->pct0 + (int)((in->pct1 -
			    in->pct0) * i / j.nchunks), "transcribing: %ld of "
			    "%ld parts", i, j.nchunks)) {
				cancelled = 1;
				goto out;
			}
			if (decode_chunk(&j, i, err, errlen) == -1)
				goto out;
		}
		done = j.nchunks;
	} else {
		if (pipe2(work, O_CLOEXEC) == -1 || pipe2(status, O_CLOEXEC) == -1) {
			seterr(err, errlen, "cannot make a pipe: %s",
			    strerror(errno));
			goto out;
		}
		/* The whole work list goes in first: a few bytes a chunk. */
		for (i = 0; i < j.nchunks; i++) {
			int32_t c = (int32_t)i;
			if (write(work[1], &c, sizeof(c)) != (ssize_t)sizeof(c)) {
				seterr(err, errlen, "cannot queue the work");
				goto out;
			}
		}
		close(work[1]);
		work[1] = -1;
		fflush(NULL);
		/* The parent is one of the W workers: it holds the model
		 * already, and each other process costs ~55 MB of search
		 * state of its own (measured: t_transcribe's peak Pss). */
		for (nw = 0; nw < w - 1; nw++) {
			if ((pids[nw] = fork()) == -1)
				break;
			if (pids[nw] == 0) {
				close(status[0]);
				worker(&j, work[0], status[1]);
			}
		}
		close(status[1]);
		status[1] = -1;
		/* Progress and cancel from here, between the parent's own
		 * chunks; then wait for the workers' last ones. */
		while (done < j.nchunks && !failed) {
			struct pollfd p = { status[0], POLLIN, 0 };
			ssize_t r;
			char *nl;
			int32_t c;

			if (task_progress(in->ctx, in->pct0 + (int)((in->pct1 -
			    in->pct0) * done / j.nchunks), "transcribing: %ld "
			    "of %ld parts", done, j.nchunks)) {
				cancelled = 1;
				break;
			}
			if (mine) {
				/* 4-byte reads from a pipe are atomic: each
				 * chunk goes to exactly one process. */
				if (read(work[0], &c, sizeof(c)) ==
				    (ssize_t)sizeof(c) && c >= 0 && c < j.nchunks) {
					if (decode_chunk(&j, c, err, errlen) == -1) {
						failed = 1;
						break;
					}
					done++;
				} else
					mine = 0;
			}
			if (hup || poll(&p, 1, mine ? 0 : 1000) <= 0) {
				/* The workers are gone (finished or died):
				 * what they left undone, nobody will do. */
				if (hup && !mine && done < j.nchunks) {
					seterr(err, errlen, "a transcription "
					    "process died");
					failed = 1;
				}
				continue;
			}
			r = read(status[0], sbuf + slen, sizeof(sbuf) - 1 - slen);
			if (r <= 0) {
				hup = 1;
				continue;
			}
			slen += (size_t)r;
			sbuf[slen] = '\0';
			while ((nl = strchr(sbuf, '\n')) != NULL) {
				*nl = '\0';
				if (strncmp(sbuf, "done ", 5) == 0)
					done++;
				else if (!failed) {
					seterr(err, errlen, "%s", sbuf);
					failed = 1;
				}
				slen -= (size_t)(nl + 1 - sbuf);
				memmove(sbuf, nl + 1, slen + 1);
			}
		}
	}
	if (!cancelled && !failed && done == j.nchunks) {
		for (i = 0; i < j.nchunks; i++)
			if (collect(&j, i, out, err, errlen) == -1)
				goto out;
		log_ev(LOG_INFO, "asr_sphinx_done", "{sIsisI}", "chunks",
		    (json_int_t)j.nchunks, "workers", (int)(nw + 1),
		    "words", (json_int_t)out->n);
		rc = ASR_OK;
	}
out:
	for (i = 0; i < nw; i++) {
		int st;
		if (rc != ASR_OK)
			kill(pids[i], SIGKILL);
		while (waitpid(pids[i], &st, 0) == -1 && errno == EINTR)
			;
	}
	if (cancelled) {
		seterr(err, errlen, "The transcription was cancelled.");
		rc = ASR_CANCELLED;
	}
	if (work[0] != -1)
		close(work[0]);
	if (work[1] != -1)
		close(work[1]);
	if (status[0] != -1)
		close(status[0]);
	if (status[1] != -1)
		close(status[1]);
	if (j.ps != NULL)
		ps_free(j.ps);
	if (config != NULL)
		cmd_ln_free_r(config);
	if (logf != NULL) {
		err_set_logfp(NULL);
		fclose(logf);
	}
	free(j.bounds);
	return rc;
}
