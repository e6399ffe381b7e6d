/* SigV4 presigning and the S3 XML scanner, as tables of input and
 * expected output.  The presigned URL is AWS's published example ("GET
 * object presigned URL", Signature V4 for S3 query parameters); the same
 * value comes out of botocore's S3SigV4QueryAuth (t_s3.sh checks that). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3_xml.h"
#include "sigv4.h"
#include "util.h"
#include "tap.h"


static void
test_presign(void)
{
	char err[256] = "", *q;
	const char *want =
	    "X-Amz-Algorithm=AWS4-HMAC-SHA256"
	    "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
	    "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
	    "&X-Amz-SignedHeaders=host"
	    "&X-Amz-Signature="
	    "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

	q = sigv4_presign_query("GET", "examplebucket.s3.amazonaws.com",
	    "/test.txt", "us-east-1", "s3", "AKIAIOSFODNN7EXAMPLE",
	    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524T000000Z",
	    86400, err, sizeof(err));
	ok(q != NULL && strcmp(q, want) == 0,
	    "presigned GET matches AWS's published example");
	if (q != NULL && strcmp(q, want) != 0)
		printf("# got  %s\n# want %s\n", q, want);
	free(q);

	/* one changed input changes the signature */
	q = sigv4_presign_query("GET", "examplebucket.s3.amazonaws.com",
	    "/test.txt", "us-east-1", "s3", "AKIAIOSFODNN7EXAMPLE",
	    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEX", "20130524T000000Z",
	    86400, err, sizeof(err));
	ok(q != NULL && strstr(q, "aeeed9bbccd4") == NULL,
	    "another secret gives another signature");
	free(q);

	q = sigv4_presign_query("GET", "h", "/k", "us-east-1", "s3", "A", "S",
	    "20130524T000000Z", 604801, err, sizeof(err));
	ok(q == NULL && strstr(err, "7 days") != NULL,
	    "expiry beyond 7 days refused with a sentence");
	free(q);
	q = sigv4_presign_query("GET", "h", "/k", "us-east-1", "s3", "A", "S",
	    "2013", 60, err, sizeof(err));
	ok(q == NULL, "malformed date refused");
	free(q);
}

static void
test_timestamp(void)
{
	char ts[17];

	sigv4_timestamp(1369353600, ts);	/* 2013-05-24 00:00:00 UTC */
	ok(strcmp(ts, "20130524T000000Z") == 0, "timestamp format");
}

static void
test_encode(void)
{
	static const struct {
		const char *in;
		int keep_slash;
		const char *out;
	} t[] = {
		{ "jobs/42/source.mp4", 1, "jobs/42/source.mp4" },
		{ "jobs/42/source.mp4", 0, "jobs%2F42%2Fsource.mp4" },
		{ "a b+c=d&e", 0, "a%20b%2Bc%3Dd%26e" },
		{ "~-_.", 0, "~-_." },
		{ "\xc3\xa9", 1, "%C3%A9" },
		{ "", 0, "" },
	};
	struct buf b;
	size_t i;
	char name[128];

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		buf_init(&b, 1024);
		snprintf(name, sizeof(name), "uri encode case %zu", i + 1);
		ok(sigv4_uri_encode(&b, t[i].in, t[i].keep_slash) == 0 &&
		    strcmp(b.data, t[i].out) == 0, name);
		buf_free(&b);
	}
	buf_init(&b, 8);
	ok(sigv4_uri_encode(&b, "0123456789", 0) == -1,
	    "uri encode fails cleanly past the buffer's maximum");
	buf_free(&b);
}

static void
test_xml(void)
{
	const char *err = "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket"
	    "</Code><Message>The bucket &quot;b&quot; &amp; more</Message>"
	    "</Error>";
	const char *list = "<ListBucketResult><Contents><Key>jobs/1/a</Key>"
	    "</Contents><Contents><Key>jobs/1/b&amp;c</Key></Contents>"
	    "<IsTruncated>true</IsTruncated><NextContinuationToken>1/x+y="
	    "</NextContinuationToken></ListBucketResult>";
	char out[64], small[4];
	size_t pos = 0;

	ok(s3_xml_text(err, "Code", NULL, out, sizeof(out)) == 0 &&
	    strcmp(out, "NoSuchBucket") == 0, "xml: error code");
	ok(s3_xml_text(err, "Message", NULL, out, sizeof(out)) == 0 &&
	    strcmp(out, "The bucket \"b\" & more") == 0, "xml: entities decoded");
	ok(s3_xml_text(err, "Missing", NULL, out, sizeof(out)) == -1,
	    "xml: absent tag");
	ok(s3_xml_text(err, "Code", NULL, small, sizeof(small)) == -1,
	    "xml: text too long for the output is refused");
	ok(s3_xml_text(list, "Key", &pos, out, sizeof(out)) == 0 &&
	    strcmp(out, "jobs/1/a") == 0, "xml: first key");
	ok(s3_xml_text(list, "Key", &pos, out, sizeof(out)) == 0 &&
	    strcmp(out, "jobs/1/b&c") == 0, "xml: second key");
	ok(s3_xml_text(list, "Key", &pos, out, sizeof(out)) == -1,
	    "xml: no third key");
	ok(s3_xml_text(list, "NextContinuationToken", NULL, out,
	    sizeof(out)) == 0 && strcmp(out, "1/x+y=") == 0,
	    "xml: continuation token");
	ok(s3_xml_text("<Key>unterminated", "Key", NULL, out,
	    sizeof(out)) == -1, "xml: unterminated element");
}

int
main(void)
{
	test_presign();
	test_timestamp();
	test_encode();
	test_xml();
	return tap_done();
}
