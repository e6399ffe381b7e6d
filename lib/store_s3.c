/* S3-compatible store through libcurl's SigV4 signing. */
#include "store.h"
#include "util.h"

struct store *
store_s3_open(char *err, size_t errlen)
{
	seterr(err, errlen, "store = s3 is not available in this build");
	return NULL;
}
