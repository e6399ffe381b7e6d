/* Logging: one JSON object per line on stderr or the configured log file. */
#ifndef CLIPMILL_LOG_H
#define CLIPMILL_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Set the minimum level and the output file ("" or NULL: stderr).
 * Returns 0, or -1 when the file cannot be opened. */
int log_init(const char *level, const char *path);
void log_set_program(const char *name);

/* Log EVENT with extra fields given as a jansson json_pack format and its
 * arguments, e.g. log_ev(LOG_INFO, "task_done", "{sIss}", "job", id,
 * "stage", name).  FMT may be NULL for no extra fields. */
void log_ev(enum log_level lvl, const char *event, const char *fmt, ...);

#endif
