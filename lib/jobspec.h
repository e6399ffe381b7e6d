/*
 * The job specification: every option a submission may carry, with its
 * type, bounds, default and the sentence that refuses a bad value, in one
 * table that the web front (fcgi/validate.c) and the CLI (clipmill submit)
 * both read.  The CLI's options are the field names with '-' for '_'
 * (min_len is --min-len).  The select stage reads the same bounds.
 */
#ifndef CLIPMILL_JOBSPEC_H
#define CLIPMILL_JOBSPEC_H

#include <stddef.h>
#include <jansson.h>

#define JOBSPEC_CLIPS_MAX	10	/* clips a job may ask for */
#define JOBSPEC_LEN_MAX		3600	/* longest clip, seconds */
#define JOBSPEC_URL_MAX		2048	/* characters of a source URL */
/* With "review", select offers more candidates than the clips asked
 * for: jobspec_candidates(). */
#define JOBSPEC_CANDIDATES_MAX	15

#define ASPECT_9_16	1
#define ASPECT_1_1	2
#define ASPECT_4_5	4

/* A checked submission. */
struct jobspec {
	char	 url[JOBSPEC_URL_MAX + 1];	/* empty for uploads */
	long long clips, min_len, max_len;
	int	 aspects;		/* ASPECT_* bits */
	int	 captions;
	int	 review;		/* stop for review before render */
	char	 caption_style[16];
	char	 layout[8];		/* auto, track, split, fit */
	char	 transcribe_backend[16];
	char	 select_backend[16];
	char	 language[8];
	char	 first_stage[32];	/* "" = the pipeline's first stage */
	char	 webhook_url[JOBSPEC_URL_MAX + 1];	/* "" = the user's */
};

/* What the server offers beyond the table: set from the configuration
 * (jobspec_backends). */
struct backends {
	int	 openai;	/* OpenAI-compatible transcription: 1, 2 = default */
	int	 llm;		/* LLM scoring: 1, 2 = the default */
	int	 test_stages;	/* the first_stage test hook */
	long long clips_default, clip_min, clip_max;
};

enum jobfield_type {
	JF_INT,		/* a whole number from min to max */
	JF_BOOL,	/* on/off, true/false, yes/no, 1/0 */
	JF_ENUM,	/* one of words; a set of words when multi */
	JF_URL,		/* an http(s) URL with a host, at most URL_MAX */
	JF_LANG,	/* a two- or three-letter language code */
	JF_STAGE	/* a test stage's name (test_stages only) */
};

struct jobfield {
	const char		*name;
	enum jobfield_type	 type;
	long long		 min, max;	/* JF_INT */
	const char *const	*words;		/* JF_ENUM */
	int			 multi;		/* may be given more than once */
	const char		*def;		/* default ("" none), before the
						 * configuration's */
	const char		*gated;		/* a word the server must offer, */
	size_t			 gate;		/* the struct backends flag that
						 * says it does, */
	const char		*gate_msg;	/* and why it is refused */
	size_t			 off, size;	/* where in struct jobspec */
};

/* The table, ended by a row whose name is NULL. */
extern const struct jobfield jobspec_fields[];

/* The row of field NAME, or NULL. */
const struct jobfield *jobspec_field(const char *name);
/* The server's offer from the configuration. */
void	jobspec_backends(struct backends *);
/* Fill JS with every field's default. */
void	jobspec_defaults(struct jobspec *, const struct backends *);
/* Check VAL for field F and store it in JS (a multi enum adds to the set;
 * a bool or a single value replaces).  0, or -1 with ERR saying what is
 * wrong with it, a predicate without the field's name ("must be ..."). */
int	jobspec_set(struct jobspec *, const struct jobfield *f, const char *val,
	    const struct backends *, char *err, size_t errlen);
/* The checks across fields, once every value is set: a URL or a file
 * (HAVE_FILE), never both; min_len at most max_len.  0, or -1 with FIELD
 * and ERR as jobspec_set's; other fields are named as CLI flags when
 * FLAGS, as field names otherwise. */
int	jobspec_finish(struct jobspec *, int have_file, int flags, char *field,
	    size_t fieldlen, char *err, size_t errlen);
/* How a front end names FIELD: the name itself, or as a CLI flag
 * ("--min-len"; the URL is an argument: "the URL") when FLAGS.  OUT. */
const char *jobspec_name(const char *field, int flags, char *out, size_t outlen);
/* How many candidates select offers for review when a job asks for
 * CLIPS clips: min(2 x CLIPS, CLIPS + 5), at most JOBSPEC_CANDIDATES_MAX. */
int	jobspec_candidates(long long clips);
/* The options JSON of the pipeline contract; new reference (NULL when out
 * of memory). */
json_t	*jobspec_options(const struct jobspec *);

#endif
