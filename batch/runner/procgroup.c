/*
 * A task child that starts a process group of its own (yt-dlp, so that
 * it and its ffmpeg can be killed as one) tells the runner, which kills
 * that group too whenever it kills or reaps the child (child.c): a
 * SIGKILL of the child leaves nothing running.  Kept apart from child.c
 * so that programs with their own task_progress() (tests/unit/mediain.c)
 * can link the stages.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "stage.h"

void
task_group(struct task_ctx *ctx, pid_t pgid)
{
	char line[64];
	ssize_t w;
	int n;

	if (ctx->fd < 0)
		return;		/* in-process: nobody else to tell */
	n = snprintf(line, sizeof(line), "{\"t\":\"g\",\"pgid\":%ld}\n",
	    (long)pgid);
	if (n <= 0 || (size_t)n >= sizeof(line))
		return;
	/* One short write to a pipe is atomic: never half a line. */
	while ((w = write(ctx->fd, line, (size_t)n)) == -1 && errno == EINTR)
		;
}
