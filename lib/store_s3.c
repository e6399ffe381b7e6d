/*
 * The S3-compatible store (AWS S3, Cloudflare R2, MinIO): plain HTTP
 * requests through libcurl, which signs their headers itself with
 * Signature V4 (CURLOPT_AWS_SIGV4, curl 7.88).  Debian's libs3 signs with
 * V2 only, which R2 and recent AWS buckets refuse.
 *
 * Payload hashes: the x-amz-content-sha256 header carries the SHA-256 of
 * each body, computed here (libcurl 7.88 would otherwise send
 * UNSIGNED-PAYLOAD for uploads read from a callback) and used by libcurl
 * in the canonical request.  Query strings are written in canonical form
 * (sorted, encoded, "name=value" even when the value is empty) because
 * libcurl 7.88 signs the query exactly as given.
 *
 * Large files go up as multipart uploads; a failed multipart upload is
 * aborted so that the bucket holds no orphaned parts.  Downloads stream
 * into a temporary file beside the target and are renamed into place.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "config.h"
#include "log.h"
#include "s3_xml.h"
#include "sigv4.h"
#include "store.h"
#include "util.h"

#define EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define MIB		(1024ULL * 1024ULL)
#define MAX_PARTS	10000		/* S3's limit per upload */
#define PART_TRIES	3		/* attempts per part */
#define BODY_MAX	(4u << 20)	/* largest XML answer we read */

struct s3 {
	char	*scheme;	/* "http" or "https" */
	char	*host;		/* host[:port] of the endpoint */
	char	*endpoint;	/* scheme://host[:port], for messages */
	char	*region;
	char	*bucket;
	char	*access;
	char	*secret;
	char	*public_url;	/* no trailing '/', or "" for presigned URLs */
	int	 path_style;
	uint64_t threshold;	/* multipart above this many bytes */
	uint64_t part_size;
	long	 connect_timeout;
	long	 stall_timeout;
	char	 sigv4[96];	/* CURLOPT_AWS_SIGV4 parameter */
};

/* One HTTP request and what came back. */
struct s3_req {
	const char	*method;	/* GET PUT POST DELETE HEAD */
	const char	*key;		/* NULL: the bucket itself */
	const char	*query;		/* canonical query, or NULL */
	const char	*content_type;
	/* request body: a file region, or memory, or none */
	int		 in_fd;
	off_t		 in_off;
	uint64_t	 in_len;
	uint64_t	 in_done;
	const char	*in_mem;
	size_t		 in_mem_len;
	/* response body: to OUT_FD when the status is 2xx, else to BODY */
	int		 out_fd;
	int		 out_errno;	/* a failed local write */
	struct buf	 body;
	char		 etag[128];
	long		 status;
	CURLcode	 cc;
	char		 curlerr[CURL_ERROR_SIZE];
	curl_off_t	 length;	/* Content-Length of a HEAD */
	long long	 mtime;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void
curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- URLs ------------------------------------------------------------ */

/* The Host header of requests for the bucket. */
static int
bucket_host(const struct s3 *s, struct buf *b)
{
	if (s->path_style)
		return buf_addstr(b, s->host);
	return buf_printf(b, "%s.%s", s->bucket, s->host);
}

/* The canonical (encoded) path of KEY, or of the bucket when KEY is NULL. */
static int
object_path(const struct s3 *s, const char *key, struct buf *b)
{
	if (s->path_style) {
		if (buf_addstr(b, "/") == -1 ||
		    sigv4_uri_encode(b, s->bucket, 0) == -1)
			return -1;
		if (key == NULL)
			return buf_addstr(b, "/");
	} else if (key == NULL)
		return buf_addstr(b, "/");
	return buf_addstr(b, "/") == -1 || sigv4_uri_encode(b, key, 1) == -1 ?
	    -1 : 0;
}

static int
request_url(const struct s3 *s, const char *key, const char *query,
    struct buf *b)
{
	if (buf_printf(b, "%s://", s->scheme) == -1 || bucket_host(s, b) == -1 ||
	    object_path(s, key, b) == -1)
		return -1;
	if (query != NULL && query[0] != '\0')
		return buf_printf(b, "?%s", query);
	return 0;
}

/* ---- payload hashes ---------------------------------------------------- */

/* SHA-256 of LEN bytes of FD from OFF, as hex into OUT[65]; 0 or -1. */
static int
hash_region(int fd, off_t off, uint64_t len, char out[65])
{
	unsigned char md[32], chunk[1 << 16];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	ssize_t n;
	int i, rc = -1;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	while (len > 0) {
		n = pread(fd, chunk, len < sizeof(chunk) ? (size_t)len :
		    sizeof(chunk), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;	/* the file shrank under us */
			goto out;
		}
		if (EVP_DigestUpdate(ctx, chunk, (size_t)n) != 1)
			goto out;
		off += n;
		len -= (uint64_t)n;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
		goto out;
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* ---- libcurl callbacks -------------------------------------------------- */

static size_t
read_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct s3_req *r = arg;
	size_t want = size * nmemb;
	ssize_t n;

	if (r->in_done >= r->in_len)
		return 0;
	if (want > r->in_len - r->in_done)
		want = (size_t)(r->in_len - r->in_done);
	do
		n = pread(r->in_fd, ptr, want, r->in_off + (off_t)r->in_done);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return CURL_READFUNC_ABORT;
	r->in_done += (uint64_t)n;
	return (size_t)n;
}

/* Rewind for a resend (redirects, authentication retries). */
static int
seek_cb(void *arg, curl_off_t offset, int origin)
{
	struct s3_req *r = arg;

	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > r->in_len)
		return CURL_SEEKFUNC_FAIL;
	r->in_done = (uint64_t)offset;
	return CURL_SEEKFUNC_OK;
}

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct s3_req *r = arg;
	size_t n = size * nmemb, off = 0;
	ssize_t w;

	/* the status line is known before the first byte of the body */
	if (r->out_fd == -1 || r->status < 200 || r->status > 299)
		return buf_add(&r->body, ptr, n) == -1 ? 0 : n;
	while (off < n) {
		w = write(r->out_fd, ptr + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			r->out_errno = errno;
			return 0;
		}
		off += (size_t)w;
	}
	return n;
}

static size_t
header_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct s3_req *r = arg;
	size_t n = size * nmemb, len;
	const char *v;

	if (n > 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		/* a new response (after 100 Continue): note its status */
		long code = 0;
		const char *sp = memchr(ptr, ' ', n);

		if (sp != NULL && (size_t)(sp - ptr) + 4 <= n)
			code = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 +
			    (sp[3] - '0');
		r->status = code;
		return n;
	}
	if (n > 5 && strncasecmp(ptr, "ETag:", 5) == 0) {
		v = ptr + 5;
		len = n - 5;
		while (len > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			len--;
		}
		while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' ||
		    v[len - 1] == ' '))
			len--;
		if (len < sizeof(r->etag)) {
			memcpy(r->etag, v, len);
			r->etag[len] = '\0';
		}
	}
	return n;
}

/* ---- one request ---------------------------------------------------------- */

static void
req_init(struct s3_req *r, const char *method, const char *key,
    const char *query)
{
	memset(r, 0, sizeof(*r));
	r->method = method;
	r->key = key;
	r->query = query;
	r->in_fd = -1;
	r->out_fd = -1;
	r->length = -1;
	buf_init(&r->body, BODY_MAX);
}

static void
req_free(struct s3_req *r)
{
	buf_free(&r->body);
}

/* Send R; fills its status and body.  -1 only when the request could not
 * be built (R->cc and R->status then stay 0); transport errors leave
 * R->cc set and are classified by the caller. */
static int
perform(struct s3 *s, struct s3_req *r, char *err, size_t errlen)
{
	struct buf url, hdr;
	struct curl_slist *h = NULL, *nh;
	char hash[65];
	CURL *c = NULL;
	int rc = -1;

	buf_init(&url, 8192);
	buf_init(&hdr, 512);
	if (request_url(s, r->key, r->query, &url) == -1) {
		seterr(err, errlen, "the S3 request URL would be too long");
		goto out;
	}
	/* x-amz-content-sha256: the real hash of the body, which libcurl
	 * puts into the canonical request as the payload hash. */
	if (r->in_fd != -1) {
		if (hash_region(r->in_fd, r->in_off, r->in_len, hash) == -1) {
			seterr(err, errlen, "cannot read the file to upload: %s",
			    strerror(errno));
			goto out;
		}
	} else if (r->in_mem != NULL)
		sha256_hex(r->in_mem, r->in_mem_len, hash);
	else
		memcpy(hash, EMPTY_SHA256, sizeof(hash));
	if (buf_printf(&hdr, "x-amz-content-sha256: %s", hash) == -1 ||
	    (nh = curl_slist_append(h, hdr.data)) == NULL)
		goto nomem;
	h = nh;
	if (r->content_type != NULL) {
		buf_reset(&hdr);
		if (buf_printf(&hdr, "Content-Type: %s", r->content_type) == -1 ||
		    (nh = curl_slist_append(h, hdr.data)) == NULL)
			goto nomem;
		h = nh;
	}
	if ((c = curl_easy_init()) == NULL)
		goto nomem;
	curl_easy_setopt(c, CURLOPT_URL, url.data);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->curlerr);
	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4);
	curl_easy_setopt(c, CURLOPT_USERNAME, s->access);
	curl_easy_setopt(c, CURLOPT_PASSWORD, s->secret);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, s->connect_timeout);
	/* a stalled transfer (under 1 byte/s for this long) is a timeout */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, s->stall_timeout);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
	if (strcmp(r->method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(r->method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(c, CURLOPT_READDATA, r);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, seek_cb);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, r);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)r->in_len);
	} else if (strcmp(r->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS,
		    r->in_mem != NULL ? r->in_mem : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(r->in_mem != NULL ? r->in_mem_len : 0));
	} else if (strcmp(r->method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
	r->cc = curl_easy_perform(c);
	if (r->cc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
		curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
		    &r->length);
		{
			curl_off_t ft = -1;

			curl_easy_getinfo(c, CURLINFO_FILETIME_T, &ft);
			r->mtime = ft;
		}
	}
	rc = 0;
	goto out;
nomem:
	seterr(err, errlen, "out of memory");
out:
	if (c != NULL)
		curl_easy_cleanup(c);
	curl_slist_free_all(h);
	buf_free(&url);
	buf_free(&hdr);
	return rc;
}

/* A request that curl could not complete (R->cc): the store rc, and a
 * sentence without the endpoint (curl's own words, which name the host,
 * go to the log). */
static int
classify_curl(struct s3 *s, struct s3_req *r, const char *what, char *err,
    size_t errlen)
{
	log_ev(LOG_WARN, "s3_unreachable", "{ssssss}", "doing", what,
	    "endpoint", s->endpoint, "error", r->curlerr[0] ? r->curlerr :
	    curl_easy_strerror(r->cc));
	switch (r->cc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_LOGIN_DENIED:
		seterr(err, errlen, "cannot %s: the S3 endpoint is unusable "
		    "(%s)", what, curl_easy_strerror(r->cc));
		return STORE_ERR;
	case CURLE_ABORTED_BY_CALLBACK:
	case CURLE_READ_ERROR:
		seterr(err, errlen, "cannot %s: reading the local file "
		    "failed", what);
		return STORE_ERR;
	default:
		seterr(err, errlen, "cannot %s: the S3 endpoint did not answer "
		    "(%s); it will be tried again", what,
		    curl_easy_strerror(r->cc));
		return STORE_AGAIN;
	}
}

/*
 * Turn a finished request into a store rc and, on failure, a sentence.
 * WHAT says what we were doing ("store jobs/1/a.mp4").  NOTFOUND_OK: a 404
 * for a missing key is STORE_NOTFOUND rather than an error.
 */
static int
classify(struct s3 *s, struct s3_req *r, const char *what, char *err,
    size_t errlen)
{
	char code[128] = "", msg[512] = "";

	if (r->out_errno != 0) {
		/* our disk, not the server: a full disk may clear up */
		seterr(err, errlen, "cannot %s: writing the local file failed: %s",
		    what, strerror(r->out_errno));
		return store_errno_rc(r->out_errno);
	}
	if (r->cc != CURLE_OK)
		return classify_curl(s, r, what, err, errlen);
	if (r->status >= 200 && r->status <= 299)
		return STORE_OK;
	if (r->body.data != NULL) {
		s3_xml_text(r->body.data, "Code", NULL, code, sizeof(code));
		s3_xml_text(r->body.data, "Message", NULL, msg, sizeof(msg));
	}
	/* The endpoint, the access key id and the server's own words are
	 * for the operator: the message may reach a user (a job's error). */
	log_ev(LOG_WARN, "s3_refused", "{sssssssIssss}", "doing", what,
	    "endpoint", s->endpoint, "access_key_id", s->access, "status",
	    (long long)r->status, "code", code, "message", msg);
	if (strcmp(code, "NoSuchBucket") == 0) {
		seterr(err, errlen, "cannot %s: the S3 bucket \"%s\" does not "
		    "exist", what, s->bucket);
		return STORE_ERR;
	}
	if (r->status == 404 && (code[0] == '\0' || strcmp(code, "NoSuchKey") == 0)) {
		seterr(err, errlen, "cannot %s: no such object", what);
		return STORE_NOTFOUND;
	}
	if (strcmp(code, "InvalidAccessKeyId") == 0 ||
	    strcmp(code, "SignatureDoesNotMatch") == 0 ||
	    strcmp(code, "AuthorizationHeaderMalformed") == 0 ||
	    strcmp(code, "ExpiredToken") == 0 ||
	    strcmp(code, "InvalidToken") == 0 ||
	    (r->status == 403 && code[0] == '\0')) {
		seterr(err, errlen, "cannot %s: S3 refused the credentials (%s); "
		    "check s3_access_key_file and s3_secret_key_file (the log "
		    "names the key)", what, code[0] ? code : "403 Forbidden");
		return STORE_ERR;
	}
	if (r->status >= 500 || r->status == 429 || r->status == 408 ||
	    strcmp(code, "SlowDown") == 0 || strcmp(code, "RequestTimeout") == 0) {
		seterr(err, errlen, "cannot %s: the S3 server had a problem "
		    "(HTTP %ld%s%s); it will be tried again", what, r->status,
		    code[0] ? " " : "", code);
		return STORE_AGAIN;
	}
	seterr(err, errlen, "cannot %s: S3 refused the request (HTTP %ld%s%s)",
	    what, r->status, code[0] ? " " : "", code);
	return STORE_ERR;
}

/* Perform and classify in one step. */
static int
run(struct s3 *s, struct s3_req *r, const char *what, char *err,
    size_t errlen)
{
	if (perform(s, r, err, errlen) == -1)
		return STORE_ERR;
	return classify(s, r, what, err, errlen);
}

/* ---- put ------------------------------------------------------------------ */

static int
put_single(struct s3 *s, const char *key, int fd, uint64_t size,
    const char *ctype, const char *what, char *err, size_t errlen)
{
	struct s3_req r;
	int rc;

	req_init(&r, "PUT", key, NULL);
	r.in_fd = fd;
	r.in_len = size;
	r.content_type = ctype;
	rc = run(s, &r, what, err, errlen);
	req_free(&r);
	return rc;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Abort an upload so that its parts do not linger (and cost money). */
static void
abort_upload(struct s3 *s, const char *key, const char *qid)
{
	struct s3_req r;
	struct buf q;
	char e[512];
	int rc;

	buf_init(&q, 4096);
	if (buf_printf(&q, "uploadId=%s", qid) == 0) {
		req_init(&r, "DELETE", key, q.data);
		rc = run(s, &r, "abort the multipart upload", e, sizeof(e));
		if (rc != STORE_OK && rc != STORE_NOTFOUND)
			log_ev(LOG_WARN, "s3_abort_failed", "{ssss}", "key", key,
			    "error", e);
		req_free(&r);
	}
	buf_free(&q);
}

/* Start a multipart upload of KEY: fills ID (its upload id).  A STORE_*
 * code. */
static int
upload_start(struct s3 *s, const char *key, const char *ctype,
    const char *what, char *id, size_t idlen, char *err, size_t errlen)
{
	struct s3_req r;
	int rc;

	req_init(&r, "POST", key, "uploads=");
	r.content_type = ctype;
	rc = run(s, &r, what, err, errlen);
	if (rc == STORE_OK && (r.body.data == NULL ||
	    s3_xml_text(r.body.data, "UploadId", NULL, id, idlen) == -1 ||
	    id[0] == '\0')) {
		seterr(err, errlen, "cannot %s: the S3 server did not return "
		    "an upload id", what);
		rc = STORE_AGAIN;
	}
	req_free(&r);
	return rc;
}

/* Upload part NUM (from 1): LEN bytes of FD at OFF, under upload IDQ
 * (URI-encoded), retried on its own: one dropped connection should not
 * resend the whole file.  Fills ETAG.  A STORE_* code. */
static int
upload_part(struct s3 *s, const char *key, const char *idq, uint64_t num,
    int fd, uint64_t off, uint64_t len, const char *what, char etag[128],
    char *err, size_t errlen)
{
	struct s3_req r;
	struct buf q;
	int rc = STORE_ERR, tries;

	buf_init(&q, 4096);
	if (buf_printf(&q, "partNumber=%llu&uploadId=%s",
	    (unsigned long long)num, idq) == -1) {
		seterr(err, errlen, "the S3 upload id is too long");
		goto out;
	}
	for (tries = 0; tries < PART_TRIES; tries++) {
		if (tries > 0)
			sleep_ms(250L << tries);
		req_init(&r, "PUT", key, q.data);
		r.in_fd = fd;
		r.in_off = (off_t)off;
		r.in_len = len;
		rc = run(s, &r, what, err, errlen);
		if (rc == STORE_OK && r.etag[0] == '\0') {
			seterr(err, errlen, "cannot %s: the S3 server returned "
			    "no ETag for part %llu", what,
			    (unsigned long long)num);
			rc = STORE_AGAIN;
		} else if (rc == STORE_OK)
			memcpy(etag, r.etag, sizeof(r.etag));
		req_free(&r);
		if (rc != STORE_AGAIN)
			break;
		log_ev(LOG_WARN, "s3_part_retry", "{sssssIsi}", "key", key,
		    "error", err, "part", (long long)num, "try", tries + 1);
	}
out:
	buf_free(&q);
	return rc;
}

/* Complete upload IDQ (URI-encoded) of KEY from the ETAGS of its NPARTS
 * parts.  A STORE_* code. */
static int
upload_complete(struct s3 *s, const char *key, const char *idq,
    char (*etags)[128], uint64_t nparts, const char *what, char *err,
    size_t errlen)
{
	struct s3_req r;
	struct buf q, done;
	uint64_t i;
	int rc = STORE_ERR;

	buf_init(&q, 4096);
	buf_init(&done, 2u << 20);
	buf_addstr(&done, "<CompleteMultipartUpload>");
	/* ETags are quoted; in XML text the quotes need no escape */
	for (i = 0; i < nparts; i++)
		buf_printf(&done, "<Part><PartNumber>%llu</PartNumber>"
		    "<ETag>%s</ETag></Part>", (unsigned long long)(i + 1),
		    etags[i]);
	/* one check for every append: a failure is sticky */
	if (buf_addstr(&done, "</CompleteMultipartUpload>") == -1 ||
	    buf_printf(&q, "uploadId=%s", idq) == -1) {
		seterr(err, errlen, "the multipart completion is too long");
		goto out;
	}
	req_init(&r, "POST", key, q.data);
	r.in_mem = done.data;
	r.in_mem_len = done.len;
	r.content_type = "application/xml";
	rc = run(s, &r, what, err, errlen);
	/* S3 may answer 200 and put the failure in the body */
	if (rc == STORE_OK && r.body.data != NULL &&
	    strstr(r.body.data, "<Error>") != NULL) {
		char code[128] = "";

		s3_xml_text(r.body.data, "Code", NULL, code, sizeof(code));
		seterr(err, errlen, "cannot %s: completing the multipart upload "
		    "failed (%s)", what, code);
		rc = STORE_AGAIN;
	}
	req_free(&r);
out:
	buf_free(&q);
	buf_free(&done);
	return rc;
}

/* Store SIZE bytes of FD under KEY in parts: start, upload each part,
 * complete; an upload that was started and failed is aborted. */
static int
put_multipart(struct s3 *s, const char *key, int fd, uint64_t size,
    const char *ctype, const char *what, char *err, size_t errlen)
{
	struct buf idq;
	char uploadid[1024], (*etags)[128] = NULL;
	uint64_t part = s->part_size, nparts, i, off;
	int rc = STORE_ERR, started = 0;

	buf_init(&idq, 4096);
	/* S3 allows 10000 parts: grow the parts for very large files */
	while ((size + part - 1) / part > MAX_PARTS)
		part *= 2;
	nparts = (size + part - 1) / part;
	if ((etags = calloc(nparts, sizeof(*etags))) == NULL) {
		seterr(err, errlen, "out of memory");
		rc = STORE_AGAIN;	/* memory may be there next time */
		goto out;
	}
	if ((rc = upload_start(s, key, ctype, what, uploadid,
	    sizeof(uploadid), err, errlen)) != STORE_OK)
		goto out;
	started = 1;
	if (sigv4_uri_encode(&idq, uploadid, 0) == -1) {
		seterr(err, errlen, "the S3 upload id is too long");
		rc = STORE_ERR;
		goto out;
	}
	for (i = 0; i < nparts; i++) {
		off = i * part;
		if ((rc = upload_part(s, key, idq.data, i + 1, fd, off,
		    size - off < part ? size - off : part, what, etags[i], err,
		    errlen)) != STORE_OK)
			goto out;
	}
	rc = upload_complete(s, key, idq.data, etags, nparts, what, err,
	    errlen);
out:
	if (rc != STORE_OK && started)
		abort_upload(s, key, idq.data != NULL ? idq.data : "");
	free(etags);
	buf_free(&idq);
	return rc;
}

static int
s3_put(struct store *st, const char *key, const char *path,
    const char *content_type, char *err, size_t errlen)
{
	struct s3 *s = st->priv;
	struct stat sb;
	char what[1200];
	int fd, rc;

	snprintf(what, sizeof(what), "store \"%s\" in S3", key);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1) {
		int e = errno;

		seterr(err, errlen, "cannot read %s: %s", path, strerror(e));
		if (fd != -1)
			close(fd);
		return e == ENOENT ? STORE_NOTFOUND : STORE_ERR;
	}
	if (content_type == NULL)
		content_type = "application/octet-stream";
	if ((uint64_t)sb.st_size > s->threshold)
		rc = put_multipart(s, key, fd, (uint64_t)sb.st_size,
		    content_type, what, err, errlen);
	else
		rc = put_single(s, key, fd, (uint64_t)sb.st_size, content_type,
		    what, err, errlen);
	close(fd);
	return rc;
}

/* ---- get, stat, delete ---------------------------------------------------------- */

/* After a 404 without a body (HEAD), tell a missing key from a missing
 * bucket: the bucket answers HEAD with 200 when it exists. */
static int
bucket_missing(struct s3 *s)
{
	struct s3_req r;
	int missing;

	req_init(&r, "HEAD", NULL, NULL);
	missing = perform(s, &r, NULL, 0) == 0 && r.cc == CURLE_OK &&
	    r.status == 404;
	req_free(&r);
	return missing;
}

static int
s3_get(struct store *st, const char *key, const char *path, char *err,
    size_t errlen)
{
	struct s3 *s = st->priv;
	struct s3_req r;
	char tmp[PATH_MAX], what[1200];
	int fd, rc;

	snprintf(what, sizeof(what), "fetch \"%s\" from S3", key);
	if (xsnprintf(tmp, sizeof(tmp), "%s.part.XXXXXX", path) == -1) {
		seterr(err, errlen, "path too long: %s", path);
		return STORE_ERR;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		int e = errno;

		seterr(err, errlen, "cannot create %s: %s", tmp, strerror(e));
		return store_errno_rc(e);
	}
	req_init(&r, "GET", key, NULL);
	r.out_fd = fd;
	rc = run(s, &r, what, err, errlen);
	req_free(&r);
	if (rc == STORE_OK && (fchmod(fd, 0644) == -1 || fsync(fd) == -1)) {
		int e = errno;

		seterr(err, errlen, "cannot %s: writing %s failed: %s", what, tmp,
		    strerror(e));
		rc = store_errno_rc(e);
	}
	if (close(fd) == -1 && rc == STORE_OK) {
		seterr(err, errlen, "cannot %s: writing %s failed: %s", what, tmp,
		    strerror(errno));
		rc = STORE_AGAIN;
	}
	if (rc == STORE_OK && rename(tmp, path) == -1) {
		seterr(err, errlen, "cannot %s: renaming %s failed: %s", what, tmp,
		    strerror(errno));
		rc = STORE_ERR;
	}
	if (rc != STORE_OK)
		unlink(tmp);
	return rc;
}

static int
s3_stat(struct store *st, const char *key, struct store_stat *out, char *err,
    size_t errlen)
{
	struct s3 *s = st->priv;
	struct s3_req r;
	char what[1200];
	int rc;

	snprintf(what, sizeof(what), "look up \"%s\" in S3", key);
	req_init(&r, "HEAD", key, NULL);
	rc = run(s, &r, what, err, errlen);
	if (rc == STORE_NOTFOUND && bucket_missing(s)) {
		seterr(err, errlen, "cannot %s: the S3 bucket \"%s\" does not "
		    "exist at %s", what, s->bucket, s->endpoint);
		rc = STORE_ERR;
	}
	if (rc == STORE_OK && out != NULL) {
		out->size = r.length >= 0 ? (uint64_t)r.length : 0;
		out->mtime = r.mtime;
	}
	req_free(&r);
	return rc;
}

static int
s3_del(struct store *st, const char *key, char *err, size_t errlen)
{
	struct s3 *s = st->priv;
	struct s3_req r;
	char what[1200];
	int rc;

	snprintf(what, sizeof(what), "delete \"%s\" from S3", key);
	req_init(&r, "DELETE", key, NULL);
	/* S3 answers 204 whether or not the key existed */
	rc = run(s, &r, what, err, errlen);
	req_free(&r);
	return rc;
}

/* ListObjectsV2 page by page; every key is deleted as it is listed. */
static int
s3_del_prefix(struct store *st, const char *prefix, char *err, size_t errlen)
{
	struct s3 *s = st->priv;
	struct s3_req r;
	struct buf q;
	char token[2048] = "", key[1100], trunc[16], what[1200];
	size_t pos;
	int rc = STORE_OK, more = 1, n = 0;

	snprintf(what, sizeof(what), "list \"%s\" in S3", prefix);
	buf_init(&q, 8192);
	while (more && rc == STORE_OK) {
		buf_reset(&q);
		/* parameters in canonical (sorted) order */
		if ((token[0] != '\0' && (buf_addstr(&q, "continuation-token=") == -1
		    || sigv4_uri_encode(&q, token, 0) == -1 ||
		    buf_addstr(&q, "&") == -1)) ||
		    buf_addstr(&q, "list-type=2&max-keys=1000&prefix=") == -1 ||
		    sigv4_uri_encode(&q, prefix, 0) == -1) {
			seterr(err, errlen, "the S3 list request is too long");
			rc = STORE_ERR;
			break;
		}
		req_init(&r, "GET", NULL, q.data);
		rc = run(s, &r, what, err, errlen);
		if (rc == STORE_NOTFOUND) {
			/* a 404 on the bucket URL can only mean no bucket */
			seterr(err, errlen, "cannot %s: the S3 bucket \"%s\" does "
			    "not exist at %s", what, s->bucket, s->endpoint);
			rc = STORE_ERR;
		}
		if (rc != STORE_OK || r.body.data == NULL) {
			req_free(&r);
			break;
		}
		pos = 0;
		while (rc == STORE_OK && s3_xml_text(r.body.data, "Key", &pos, key,
		    sizeof(key)) == 0) {
			/* never delete outside the prefix, whatever the
			 * server lists */
			if (strncmp(key, prefix, strlen(prefix)) != 0 ||
			    !store_key_valid(key))
				continue;
			rc = s3_del(st, key, err, errlen);
			if (rc == STORE_NOTFOUND)
				rc = STORE_OK;
			n++;
		}
		more = s3_xml_text(r.body.data, "IsTruncated", NULL, trunc,
		    sizeof(trunc)) == 0 && strcmp(trunc, "true") == 0;
		if (more && s3_xml_text(r.body.data, "NextContinuationToken", NULL,
		    token, sizeof(token)) == -1) {
			seterr(err, errlen, "cannot %s: a truncated listing came "
			    "without a continuation token", what);
			rc = STORE_AGAIN;
		}
		req_free(&r);
	}
	buf_free(&q);
	if (rc == STORE_OK)
		log_ev(LOG_INFO, "s3_delete_prefix", "{sssi}", "prefix", prefix,
		    "objects", n);
	return rc;
}

/* ---- URLs for users -------------------------------------------------------------- */

static char *
s3_url(struct store *st, const char *key, long long expires, char *err,
    size_t errlen)
{
	struct s3 *s = st->priv;
	struct buf u, host, path;
	char amzdate[17], *q = NULL, *out = NULL;

	buf_init(&u, 16384);
	buf_init(&host, 1024);
	buf_init(&path, 4096);
	if (s->public_url[0] != '\0') {
		if (buf_printf(&u, "%s/", s->public_url) == -1 ||
		    sigv4_uri_encode(&u, key, 1) == -1)
			goto full;
		goto done;
	}
	if (expires <= 0)
		expires = cfg.s3_presign_expires;
	sigv4_timestamp(time(NULL), amzdate);
	if (bucket_host(s, &host) == -1 || object_path(s, key, &path) == -1)
		goto full;
	if ((q = sigv4_presign_query("GET", host.data, path.data, s->region,
	    "s3", s->access, s->secret, amzdate, expires, err, errlen)) == NULL)
		goto out;
	if (buf_printf(&u, "%s://%s%s?%s", s->scheme, host.data, path.data, q)
	    == -1)
		goto full;
done:
	out = u.data;
	u.data = NULL;
	goto out;
full:
	seterr(err, errlen, "the URL for \"%s\" would be too long", key);
out:
	free(q);
	buf_free(&u);
	buf_free(&host);
	buf_free(&path);
	return out;
}

/* ---- open and close -------------------------------------------------------------- */

static void
s3_free(struct s3 *s)
{
	if (s == NULL)
		return;
	free(s->scheme);
	free(s->host);
	free(s->endpoint);
	free(s->region);
	free(s->bucket);
	free(s->access);
	if (s->secret != NULL) {
		OPENSSL_cleanse(s->secret, strlen(s->secret));
		free(s->secret);
	}
	free(s->public_url);
	free(s);
}

static void
s3_close(struct store *st)
{
	s3_free(st->priv);
	free(st);
}

/* Without a public base URL, s3_url() presigns: the address expires. */
static int
s3_url_expires(struct store *st)
{
	const struct s3 *s = st->priv;

	return s->public_url[0] == '\0';
}

static const struct store_ops s3_ops = {
	"s3", s3_put, s3_get, s3_stat, s3_del, s3_del_prefix, s3_url, NULL,
	s3_close, s3_url_expires
};

/* A key from FILE when set, else from the environment variable ENV;
 * allocated (caller frees) or NULL with ERR. */
static char *
read_key(const char *file, const char *env, const char *opt, char *err,
    size_t errlen)
{
	const char *v;
	char *k;

	if (file != NULL && file[0] != '\0') {
		if ((k = read_small_file(file, 4096, 1)) == NULL) {
			seterr(err, errlen, "cannot read %s (%s): %s", opt, file,
			    strerror(errno));
			return NULL;
		}
		if (k[0] == '\0') {
			seterr(err, errlen, "%s (%s) is empty", opt, file);
			free(k);
			return NULL;
		}
		return k;
	}
	if ((v = getenv(env)) == NULL || v[0] == '\0') {
		seterr(err, errlen, "S3 needs credentials: set %s or the "
		    "environment variable %s", opt, env);
		return NULL;
	}
	if ((k = strdup(v)) == NULL)
		seterr(err, errlen, "out of memory");
	return k;
}

/* A bucket name S3 accepts in both addressing styles (DNS-safe). */
static int
bucket_valid(const char *b)
{
	size_t i, n = strlen(b);

	if (n < 3 || n > 63)
		return 0;
	for (i = 0; i < n; i++)
		if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') ||
		    b[i] == '-' || b[i] == '.'))
			return 0;
	return b[0] != '-' && b[0] != '.' && b[n - 1] != '-' && b[n - 1] != '.';
}

/* Split "scheme://host[:port][/]" into its parts; 0 or -1. */
static int
parse_endpoint(struct s3 *s, const char *ep, char *err, size_t errlen)
{
	const char *h;
	size_t n;

	if (strncmp(ep, "https://", 8) == 0) {
		s->scheme = strdup("https");
		h = ep + 8;
	} else if (strncmp(ep, "http://", 7) == 0) {
		s->scheme = strdup("http");
		h = ep + 7;
	} else {
		seterr(err, errlen, "s3_endpoint must start with http:// or "
		    "https://, not \"%.100s\"", ep);
		return -1;
	}
	n = strcspn(h, "/?#@");
	if (n == 0 || n > 255 || (h[n] != '\0' && strcmp(h + n, "/") != 0)) {
		seterr(err, errlen, "s3_endpoint must be scheme://host[:port] "
		    "without a path, not \"%.100s\"", ep);
		return -1;
	}
	if (s->scheme == NULL || (s->host = strndup(h, n)) == NULL ||
	    (s->endpoint = malloc(strlen(s->scheme) + n + 4)) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	snprintf(s->endpoint, strlen(s->scheme) + n + 4, "%s://%s", s->scheme,
	    s->host);
	return 0;
}

struct store *
store_s3_open(char *err, size_t errlen)
{
	struct store *st = NULL;
	struct s3 *s;
	char ep[300];
	size_t n;

	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK) {
		seterr(err, errlen, "cannot initialise libcurl: %s",
		    curl_easy_strerror(curl_init_rc));
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	if (cfg.s3_bucket == NULL || !bucket_valid(cfg.s3_bucket)) {
		seterr(err, errlen, "s3_bucket must be a bucket name of 3 to 63 "
		    "lower-case letters, digits, '-' and '.'");
		goto fail;
	}
	if (cfg.s3_region == NULL || cfg.s3_region[0] == '\0' ||
	    strlen(cfg.s3_region) > 40 || strchr(cfg.s3_region, ':') != NULL) {
		seterr(err, errlen, "s3_region must be a region name such as "
		    "us-east-1 (\"auto\" for R2)");
		goto fail;
	}
	/* no endpoint: AWS itself */
	if (cfg.s3_endpoint == NULL || cfg.s3_endpoint[0] == '\0')
		snprintf(ep, sizeof(ep), "https://s3.%s.amazonaws.com",
		    cfg.s3_region);
	else
		snprintf(ep, sizeof(ep), "%s", cfg.s3_endpoint);
	if (parse_endpoint(s, ep, err, errlen) == -1)
		goto fail;
	if ((s->region = strdup(cfg.s3_region)) == NULL ||
	    (s->bucket = strdup(cfg.s3_bucket)) == NULL ||
	    (s->public_url = strdup(cfg.s3_public_url ? cfg.s3_public_url : ""))
	    == NULL) {
		seterr(err, errlen, "out of memory");
		goto fail;
	}
	while ((n = strlen(s->public_url)) > 0 && s->public_url[n - 1] == '/')
		s->public_url[n - 1] = '\0';
	if ((s->access = read_key(cfg.s3_access_key_file, "AWS_ACCESS_KEY_ID",
	    "s3_access_key_file", err, errlen)) == NULL ||
	    (s->secret = read_key(cfg.s3_secret_key_file, "AWS_SECRET_ACCESS_KEY",
	    "s3_secret_key_file", err, errlen)) == NULL)
		goto fail;
	if (strchr(s->access, ':') != NULL || strchr(s->access, '/') != NULL) {
		seterr(err, errlen, "the S3 access key id must not contain ':' "
		    "or '/'");
		goto fail;
	}
	s->path_style = cfg.s3_path_style;
	s->threshold = (uint64_t)cfg.s3_multipart_threshold_mb * MIB;
	s->part_size = (uint64_t)cfg.s3_part_size_mb * MIB;
	s->connect_timeout = (long)cfg.s3_connect_timeout;
	s->stall_timeout = (long)cfg.s3_stall_timeout;
	if (xsnprintf(s->sigv4, sizeof(s->sigv4), "aws:amz:%s:s3", s->region)
	    == -1) {
		seterr(err, errlen, "s3_region is too long");
		goto fail;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		seterr(err, errlen, "out of memory");
		goto fail;
	}
	st->ops = &s3_ops;
	st->priv = s;
	return st;
fail:
	s3_free(s);
	return NULL;
}
