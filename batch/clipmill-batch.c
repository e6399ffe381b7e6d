/* clipmill-batch: the runner cron starts (see batch/runner.c). */
#include <stdio.h>

int
main(void)
{
	fprintf(stderr, "clipmill-batch: the runner is being written\n");
	return 1;
}
