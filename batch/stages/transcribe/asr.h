/*
 * Speech recognisers for the transcribe stage.  Each backend turns the
 * extracted audio (audio.h) into a list of timed words; the stage turns
 * words into segments and writes transcript.json (schema in
 * doc/transcript.md and transcribe.c).
 */
#ifndef CLIPMILL_ASR_H
#define CLIPMILL_ASR_H

#include <stddef.h>

struct task_ctx;
struct audio;

struct asr_word {
	char	 word[64];
	double	 start, end;	/* seconds from the source start */
	double	 conf;		/* 0..1 */
	char	 punct;		/* sentence-ending mark after it, or 0 */
};

struct asr_words {
	struct asr_word	*v;
	size_t		 n, cap;
};

enum asr_rc {
	ASR_OK = 0,
	ASR_FAILED,		/* this backend cannot do it: ERR says why */
	ASR_CANCELLED
};

struct asr_input {
	struct task_ctx		*ctx;
	const struct audio	*audio;
	const char		*pcm_path;
	const char		*scratch;	/* for logs and upload files */
	const char		*language;	/* "" or e.g. "en" */
	int			 pct0, pct1;	/* progress range */
};

/* Append a word (copied, truncated to fit); 0 or -1 on ENOMEM. */
int	asr_words_add(struct asr_words *, const char *word, double start,
	    double end, double conf);
void	asr_words_free(struct asr_words *);

/* Offline: pocketsphinx, chunks in parallel (cfg.transcribe_workers).
 * MODEL receives the model's name. */
enum asr_rc asr_sphinx(const struct asr_input *, struct asr_words *out,
	    char *model, size_t modellen, char *err, size_t errlen);

/* The model directory: cfg.pocketsphinx_model_dir, else pkg-config's
 * modeldir + "/en-us" at build time.  It holds en-us/ (the acoustic
 * model), en-us.lm.bin and cmudict-en-us.dict. */
const char *asr_sphinx_model_dir(void);

/* An OpenAI-compatible /audio/transcriptions endpoint. */
enum asr_rc asr_openai(const struct asr_input *, struct asr_words *out,
	    char *model, size_t modellen, char *err, size_t errlen);

/* Parse one verbose_json answer, appending its words shifted by OFFSET
 * seconds.  0, or -1 with ERR when the body is not the expected JSON.
 * Exposed for the table tests. */
int	asr_openai_parse(const char *body, size_t len, double offset,
	    struct asr_words *out, char *err, size_t errlen);

/* Parse a Retry-After value (seconds or an HTTP date) into seconds from
 * now, capped at MAX; -1 when unreadable. */
double	asr_retry_after(const char *value, double max);

/* The "segments" array of transcript.json for W (new reference), or NULL
 * on ENOMEM.  Rules in transcribe.c. */
struct json_t;
struct json_t *transcript_segments(const struct asr_words *w);

#endif
