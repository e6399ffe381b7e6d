/*
 * The configuration table: every option once, with its type, default and
 * bounds.  The file format is `key = value`, `#` starts a comment, blank
 * lines are ignored; values may be double-quoted.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "jobspec.h"
#include "util.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/usr/local/etc"
#endif

struct config cfg;

enum cftype { CF_STR, CF_INT, CF_BOOL, CF_DOUBLE, CF_ENUM };

struct option {
	const char	*name;
	enum cftype	 type;
	size_t		 off;
	const char	*def;
	double		 min, max;	/* CF_INT, CF_DOUBLE */
	const char	*choices;	/* CF_ENUM: "a|b|c" */
};

#define O(n, t, d, lo, hi, ch) { #n, t, offsetof(struct config, n), d, lo, hi, ch }
#define S(n, d)		O(n, CF_STR, d, 0, 0, NULL)
#define I(n, d, lo, hi)	O(n, CF_INT, #d, lo, hi, NULL)
#define B(n, d)		O(n, CF_BOOL, d, 0, 1, NULL)
#define D(n, d, lo, hi)	O(n, CF_DOUBLE, #d, lo, hi, NULL)
#define E(n, d, ch)	O(n, CF_ENUM, d, 0, 0, ch)

static const struct option options[] = {
	/* general */
	S(database_url, "dbname=clipmill"),
	I(db_connect_timeout, 5, 2, 3600),
	I(db_keepalive_idle, 30, 1, 86400),
	I(db_statement_timeout, 30, 0, 86400),
	I(db_lock_timeout, 10, 0, 86400),
	E(log_level, "info", "debug|info|warn|error"),
	S(log_file, ""),
	S(scratch_dir, "/var/tmp/clipmill"),
	S(base_url, "http://127.0.0.1:8080"),

	/* store */
	E(store, "file", "file|s3"),
	S(store_dir, "/var/lib/clipmill/store"),
	S(store_public_url, "/files"),
	S(s3_endpoint, ""),
	S(s3_region, "us-east-1"),
	S(s3_bucket, ""),
	B(s3_path_style, "yes"),
	S(s3_access_key_file, ""),
	S(s3_secret_key_file, ""),
	S(s3_public_url, ""),
	I(s3_presign_expires, 3600, 1, 604800),
	I(s3_multipart_threshold_mb, 16, 5, 5120),
	I(s3_part_size_mb, 8, 5, 5120),
	I(s3_connect_timeout, 10, 1, 300),
	I(s3_stall_timeout, 60, 1, 3600),

	/* queue and runner */
	I(max_attempts, 3, 1, 100),
	D(retry_base, 5, 0.001, 86400),
	I(lease, 60, 1, 86400),
	I(idle_exit, 55, 0, 86400),
	S(wake_socket, ""),
	I(term_grace, 30, 0, 3600),
	I(cap_fetch, 8, 1, 1000),
	I(cap_transcribe, 4, 1, 1000),
	I(cap_select, 4, 1, 1000),
	I(cap_frame, 2, 1, 1000),
	I(cap_render, 2, 1, 1000),
	I(cap_publish, 8, 1, 1000),
	I(task_timeout, 7200, 1, 604800),
	I(child_mem_mb, 4096, 64, 1048576),
	I(child_cpu_s, 14400, 1, 604800),
	I(child_fsize_mb, 16384, 1, 16777216),
	S(media_user, ""),
	I(keep_completed, 100, 0, 100000000),
	I(keep_failed, 50, 0, 100000000),
	I(retention_days, 30, 0, 36500),
	B(test_stages, "no"),
	I(cap_test, 2, 1, 1000),

	/* fetch */
	S(ytdlp_path, "/usr/bin/yt-dlp"),
	S(ytdlp_cookies, ""),
	I(max_download_mb, 4096, 1, 1048576),
	I(fetch_timeout, 3600, 1, 86400),
	I(max_redirects, 5, 0, 50),
	B(allow_private_addresses, "no"),
	I(max_duration, 14400, 1, 360000),
	I(max_width, 3840, 16, 16384),
	I(max_height, 2160, 16, 16384),
	S(fetch_allow_cidrs, ""),

	/* webhooks */
	I(webhook_timeout, 10, 1, 300),

	/* transcribe */
	E(transcribe_backend, "pocketsphinx", "pocketsphinx|openai"),
	I(transcribe_workers, 2, 1, 64),
	S(pocketsphinx_model_dir, ""),
	S(openai_base_url, "https://api.openai.com/v1"),
	S(openai_key_file, ""),
	S(transcribe_model, "whisper-1"),
	S(transcribe_language, ""),
	I(transcribe_upload_mb, 24, 1, 1024),
	I(transcribe_timeout, 600, 1, 86400),
	I(transcribe_chunk_s, 15, 5, 600),
	I(transcribe_retries, 4, 1, 20),

	/* select */
	E(select_backend, "heuristic", "heuristic|llm"),
	S(llm_base_url, "https://api.openai.com/v1"),
	S(llm_key_file, ""),
	S(llm_model, "gpt-4o-mini"),
	I(llm_timeout, 120, 1, 3600),
	I(clip_min, 20, 1, JOBSPEC_LEN_MAX),
	I(clip_max, 60, 1, JOBSPEC_LEN_MAX),
	I(clips_default, 3, 1, JOBSPEC_CLIPS_MAX),
	I(llm_chunk_chars, 12000, 200, 1000000),

	/* frame and render */
	S(face_model_dir, ""),
	D(frame_sample_fps, 5, 0.1, 60),
	E(x264_preset, "veryfast",
	    "ultrafast|superfast|veryfast|faster|fast|medium|slow|slower|veryslow"),
	I(x264_crf, 23, 0, 51),
	S(caption_font, "DejaVu Sans"),
	D(crop_dead_zone, 0.12, 0, 0.45),
	D(crop_max_speed, 1.0, 0.05, 20),
	I(render_threads, 0, 0, 64),

	/* web front */
	I(fcgi_threads, 16, 1, 1024),
	S(fcgi_listen, ""),
	I(fcgi_socket_mode, 0660, 0, 0777),
	S(session_secret_file, "/var/lib/clipmill/secret/session_secret"),
	B(trust_remote_user, "no"),
	B(trust_remote_user_tcp, "no"),
	I(upload_max_mb, 2048, 1, 1048576),
	I(user_max_jobs, 3, 1, 10000),
	I(user_submits_per_minute, 10, 1, 100000),
	I(user_retries_per_job, 3, 0, 1000),
	I(user_max_uploads, 2, 1, 1000),
	E(file_delivery, "x-accel", "x-accel|x-sendfile|redirect"),
	S(x_accel_prefix, "/_clipmill_files/"),
	S(metrics_token, ""),
	I(longpoll_max, 60, 1, 3600),
	I(user_max_longpolls, 8, 1, 100000),
	I(longpoll_max_waiters, 500, 1, 1000000),
	I(auth_cache_ttl, 10, 0, 300),
	I(job_cache_entries, 1024, 0, 1000000),
};
#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static const struct option *
find(const char *key)
{
	size_t i;

	for (i = 0; i < NOPTIONS; i++)
		if (strcmp(options[i].name, key) == 0)
			return &options[i];
	return NULL;
}

static int
parse_bool(const char *v, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return *out = 1, 0;
		if (strcasecmp(v, no[i]) == 0)
			return *out = 0, 0;
	}
	return -1;
}

static int
in_choices(const char *v, const char *choices)
{
	size_t n = strlen(v);
	const char *p = choices, *bar;

	while (*p) {
		bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && strncmp(p, v, n) == 0)
			return 1;
		if (bar == NULL)
			break;
		p = bar + 1;
	}
	return 0;
}

static int
set_option(const struct option *o, const char *v, char *err, size_t errlen)
{
	char *base = (char *)&cfg + o->off, *s;
	long long ll;
	double d;
	int b;

	switch (o->type) {
	case CF_ENUM:
		if (!in_choices(v, o->choices)) {
			seterr(err, errlen, "%s must be one of %s, not \"%s\"",
			    o->name, o->choices, v);
			return -1;
		}
		/* FALLTHROUGH */
	case CF_STR:
		if ((s = strdup(v)) == NULL) {
			seterr(err, errlen, "out of memory");
			return -1;
		}
		free(*(char **)base);
		*(char **)base = s;
		return 0;
	case CF_INT:
		/* base 0 so that modes can be written in octal (0660) */
		{
			char *end;
			errno = 0;
			ll = strtoll(v, &end, 0);
			if (*v == '\0' || *end != '\0' || errno != 0 ||
			    ll < (long long)o->min || ll > (long long)o->max) {
				seterr(err, errlen, "%s must be a whole number "
				    "from %.0f to %.0f, not \"%s\"", o->name,
				    o->min, o->max, v);
				return -1;
			}
		}
		*(long long *)base = ll;
		return 0;
	case CF_DOUBLE:
		if (parse_double(v, o->min, o->max, &d) == -1) {
			seterr(err, errlen, "%s must be a number from %g to "
			    "%g, not \"%s\"", o->name, o->min, o->max, v);
			return -1;
		}
		*(double *)base = d;
		return 0;
	case CF_BOOL:
		if (parse_bool(v, &b) == -1) {
			seterr(err, errlen, "%s must be yes or no, not \"%s\"",
			    o->name, v);
			return -1;
		}
		*(int *)base = b;
		return 0;
	}
	return -1;
}

int
config_set(const char *key, const char *value, char *err, size_t errlen)
{
	const struct option *o = find(key);

	if (o == NULL) {
		seterr(err, errlen, "unknown option \"%s\"", key);
		return -1;
	}
	return set_option(o, value, err, errlen);
}

static void
defaults(void)
{
	size_t i;

	for (i = 0; i < NOPTIONS; i++)
		if (set_option(&options[i], options[i].def, NULL, 0) == -1)
			abort();	/* a bad default is a programmer error */
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
	    e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int
config_parse(const char *path, void *fp, char *err, size_t errlen)
{
	char line[4096], msg[512], *k, *v, *eq;
	int lineno = 0;
	FILE *f = fp;

	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			seterr(err, errlen, "%s:%d: line too long", path, lineno);
			return -1;
		}
		k = trim(line);
		if (*k == '\0' || *k == '#')
			continue;
		if ((eq = strchr(k, '=')) == NULL) {
			seterr(err, errlen, "%s:%d: expected \"key = value\"",
			    path, lineno);
			return -1;
		}
		*eq = '\0';
		k = trim(k);
		v = trim(eq + 1);
		if (*v == '"') {
			size_t n = strlen(v);
			if (n < 2 || v[n - 1] != '"') {
				seterr(err, errlen, "%s:%d: unterminated quote",
				    path, lineno);
				return -1;
			}
			v[n - 1] = '\0';
			v++;
		}
		if (config_set(k, v, msg, sizeof(msg)) == -1) {
			seterr(err, errlen, "%s:%d: %s", path, lineno, msg);
			return -1;
		}
	}
	if (ferror(f)) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
config_load(const char *path, char *err, size_t errlen)
{
	const char *env;
	int explicit = 1, rc;
	FILE *f;

	defaults();
	if (path == NULL && (path = getenv("CLIPMILL_CONF")) == NULL) {
		path = SYSCONFDIR "/clipmill.conf";
		explicit = 0;
	}
	if ((f = fopen(path, "r")) == NULL) {
		if (explicit || errno != ENOENT) {
			seterr(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
	} else {
		rc = config_parse(path, f, err, errlen);
		fclose(f);
		if (rc == -1)
			return -1;
	}
	if ((env = getenv("CLIPMILL_DATABASE_URL")) != NULL ||
	    (env = getenv("DATABASE_URL")) != NULL)
		if (config_set("database_url", env, err, errlen) == -1)
			return -1;
	if (cfg.clip_min > cfg.clip_max) {
		seterr(err, errlen, "%s: clip_min (%lld) is larger than "
		    "clip_max (%lld)", path, cfg.clip_min, cfg.clip_max);
		return -1;
	}
	return 0;
}

void
config_dump(void *fp)
{
	FILE *f = fp;
	size_t i;

	for (i = 0; i < NOPTIONS; i++) {
		const struct option *o = &options[i];
		const char *base = (const char *)&cfg + o->off;

		switch (o->type) {
		case CF_STR:
		case CF_ENUM:
			fprintf(f, "%s = \"%s\"\n", o->name, *(char *const *)base);
			break;
		case CF_INT:
			fprintf(f, "%s = %lld\n", o->name, *(const long long *)base);
			break;
		case CF_DOUBLE:
			/* %.15g: enough digits to read back the same value */
			fprintf(f, "%s = %.15g\n", o->name, *(const double *)base);
			break;
		case CF_BOOL:
			fprintf(f, "%s = %s\n", o->name,
			    *(const int *)base ? "yes" : "no");
			break;
		}
	}
}
