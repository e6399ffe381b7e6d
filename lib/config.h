/*
 * Configuration: `key = value` lines, every option declared once in the
 * table in config.c with its type, default and bounds.  Each part of the
 * system reads the global `cfg` after config_load().
 */
#ifndef CLIPMILL_CONFIG_H
#define CLIPMILL_CONFIG_H

#include <stddef.h>

struct config {
	/* general */
	char	*database_url;
	long long db_connect_timeout;	/* seconds */
	long long db_keepalive_idle;	/* seconds before TCP keepalives */
	long long db_statement_timeout;	/* seconds; 0: none */
	long long db_lock_timeout;	/* seconds; 0: none */
	char	*log_level;
	char	*log_file;
	char	*scratch_dir;
	char	*base_url;

	/* store */
	char	*store;			/* file | s3 */
	char	*store_dir;
	char	*store_public_url;
	char	*s3_endpoint;
	char	*s3_region;
	char	*s3_bucket;
	int	 s3_path_style;
	char	*s3_access_key_file;
	char	*s3_secret_key_file;
	char	*s3_public_url;
	long long s3_presign_expires;
	long long s3_multipart_threshold_mb;
	long long s3_part_size_mb;
	long long s3_connect_timeout;	/* seconds */
	long long s3_stall_timeout;	/* seconds without a byte moving */

	/* queue and runner */
	long long max_attempts;
	double	 retry_base;
	long long lease;
	long long idle_exit;
	char	*wake_socket;		/* host listener's socket; "": none */
	long long term_grace;
	long long cap_fetch;
	long long cap_transcribe;
	long long cap_select;
	long long cap_frame;
	long long cap_render;
	long long cap_publish;
	long long task_timeout;
	long long child_mem_mb;
	long long child_cpu_s;
	long long child_fsize_mb;
	char	*media_user;		/* task children run as this user */
	long long keep_completed;
	long long keep_failed;
	long long retention_days;
	int	 test_stages;
	long long cap_test;		/* cap of the capped test stages */

	/* fetch */
	char	*ytdlp_path;
	char	*ytdlp_cookies;
	long long max_download_mb;
	long long fetch_timeout;
	long long max_redirects;
	int	 allow_private_addresses;
	long long max_duration;
	long long max_width;
	long long max_height;
	char	*fetch_allow_cidrs;	/* private ranges allowed anyway */

	/* webhooks */
	long long webhook_timeout;

	/* transcribe */
	char	*transcribe_backend;	/* pocketsphinx | openai */
	long long transcribe_workers;
	char	*pocketsphinx_model_dir;
	char	*openai_base_url;
	char	*openai_key_file;
	char	*transcribe_model;
	char	*transcribe_language;
	long long transcribe_upload_mb;
	long long transcribe_timeout;
	long long transcribe_chunk_s;	/* pocketsphinx chunk length */
	long long transcribe_retries;	/* openai: attempts per chunk */

	/* select */
	char	*select_backend;	/* heuristic | llm */
	char	*llm_base_url;
	char	*llm_key_file;
	char	*llm_model;
	long long llm_timeout;
	long long clip_min;
	long long clip_max;
	long long clips_default;
	long long llm_chunk_chars;	/* transcript text per LLM request */

	/* frame and render */
	char	*face_model_dir;	/* "": DATADIR/blazeface */
	double	 frame_sample_fps;
	char	*x264_preset;
	long long x264_crf;
	char	*caption_font;
	double	 crop_dead_zone;	/* share of the crop width the face may drift */
	double	 crop_max_speed;	/* camera pan, crop widths per second */
	long long render_threads;	/* 0: libx264 decides */

	/* web front */
	long long fcgi_threads;
	char	*fcgi_listen;
	long long fcgi_socket_mode;
	char	*session_secret_file;
	int	 trust_remote_user;
	int	 trust_remote_user_tcp;	/* the TCP listener's peers are trusted */
	long long upload_max_mb;
	long long user_max_jobs;
	long long user_submits_per_minute;	/* submissions and retries */
	long long user_retries_per_job;	/* a user's retries of one job */
	long long user_max_uploads;	/* uploads streaming at once */
	char	*file_delivery;		/* x-accel | x-sendfile | redirect */
	char	*x_accel_prefix;
	char	*metrics_token;
	long long longpoll_max;
	long long user_max_longpolls;	/* one user's waiting long-polls */
	long long longpoll_max_waiters;	/* everyone's, per process */
	long long auth_cache_ttl;	/* seconds a key or session lookup is kept */
	long long job_cache_entries;	/* job documents kept per process */
};

extern struct config cfg;

/*
 * Set every option to its default, then read PATH (or, when PATH is NULL,
 * $CLIPMILL_CONF, else SYSCONFDIR/clipmill.conf if it exists), then apply
 * the environment ($CLIPMILL_DATABASE_URL or $DATABASE_URL).  Returns 0, or
 * -1 with "file:line: message" in ERR.
 */
int	config_load(const char *path, char *err, size_t errlen);

/* Read the `key = value` lines of the open file FP (a FILE *) on top of
 * the options as they are; PATH names it in messages.  0, or -1 with
 * "file:line: message" in ERR.  config_load() uses it; exposed for the
 * fuzz harness (tests/fuzz/config.c). */
int	config_parse(const char *path, void *fp, char *err, size_t errlen);

/* Set one option by name from its text form (as in the file); 0 or -1. */
int	config_set(const char *key, const char *value, char *err, size_t errlen);

/* Print every option with its current value, in file syntax. */
void	config_dump(void *fp);

#endif
