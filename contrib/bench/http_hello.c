/*
 * The reference for contrib/bench/http: the smallest multi-threaded libfcgi
 * program (same thread count and accept pattern as clipmill.fcgi), answering
 * a fixed JSON body of about the size of a job.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

static int sock;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static const char body[] = "{\"id\":1,\"state\":\"pending\",\"hello\":\"world\"}";

static void *
serve(void *arg)
{
	FCGX_Request r;
	int rc;

	(void)arg;
	FCGX_InitRequest(&r, sock, 0);
	for (;;) {
		pthread_mutex_lock(&mu);
		rc = FCGX_Accept_r(&r);
		pthread_mutex_unlock(&mu);
		if (rc < 0)
			break;
		FCGX_PutS("Status: 200 OK\r\nContent-Type: application/json\r\n\r\n",
		    r.out);
		FCGX_PutStr(body, (int)strlen(body), r.out);
		FCGX_Finish_r(&r);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	pthread_t t[64];
	char *end = NULL;
	long n = argc > 2 ? strtol(argv[2], &end, 10) : 16;
	int i;

	if (argc < 2 || (end != NULL && *end != '\0') || n < 1 || n > 64)
		return 2;
	FCGX_Init();
	if ((sock = FCGX_OpenSocket(argv[1], 1024)) < 0)
		return 1;
	for (i = 0; i < n; i++)
		pthread_create(&t[i], NULL, serve, NULL);
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	return 0;
}
