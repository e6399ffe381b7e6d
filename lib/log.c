/* One JSON object per line: {"ts","level","prog","pid","event",...}. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"

static enum log_level	 min_level = LOG_INFO;
static FILE		*out;
static const char	*prog = "clipmill";
static pthread_mutex_t	 mu = PTHREAD_MUTEX_INITIALIZER;
static const char *const names[] = { "debug", "info", "warn", "error" };

int
log_init(const char *level, const char *path)
{
	size_t i;

	for (i = 0; level != NULL && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(level, names[i]) == 0)
			min_level = (enum log_level)i;
	if (path != NULL && *path != '\0') {
		/* Not for everyone to read (it names endpoints and key ids),
		 * and not for the programs we start (yt-dlp). */
		int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0640);
		FILE *f;

		if (fd == -1)
			return -1;
		if ((f = fdopen(fd, "a")) == NULL) {
			close(fd);
			return -1;
		}
		setvbuf(f, NULL, _IOLBF, 0);
		if (out != NULL && out != stderr)
			fclose(out);
		out = f;
	}
	return 0;
}

void
log_set_program(const char *name)
{
	prog = name;
}

void
log_ev(enum log_level lvl, const char *event, const char *fmt, ...)
{
	json_t *o = NULL, *extra;
	json_error_t jerr;
	struct timeval tv;
	struct tm tm;
	char ts[64], *line;
	va_list ap;
	int saved = errno;

	if (lvl < min_level)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000));
	o = json_pack("{sssssssssi}", "ts", ts, "level", names[lvl],
	    "prog", prog, "event", event, "pid", (int)getpid());
	if (o == NULL)
		goto out;
	if (fmt != NULL) {
		va_start(ap, fmt);
		extra = json_vpack_ex(&jerr, 0, fmt, ap);
		va_end(ap);
		if (extra != NULL) {
			json_object_update(o, extra);
			json_decref(extra);
		} else
			json_object_set_new(o, "log_error", json_string(jerr.text));
	}
	line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (line != NULL) {
		pthread_mutex_lock(&mu);
		fprintf(out != NULL ? out : stderr, "%s\n", line);
		pthread_mutex_unlock(&mu);
		free(line);
	}
out:
	json_decref(o);
	errno = saved;
}
