/*
 * Fetching a source: direct media URLs through libcurl (curl.c, with
 * the address policy of lib/netpolicy.c) and site URLs through yt-dlp (ytdlp.c).  Both
 * write into the task's scratch directory and report progress through the
 * task context; neither touches the store or the database.
 */
#ifndef CLIPMILL_FETCH_H
#define CLIPMILL_FETCH_H

#include <stddef.h>
#include <sys/socket.h>

#include "netpolicy.h"

struct task_ctx;

enum fetch_rc {
	FETCH_OK = 0,
	FETCH_NOT_MEDIA,	/* curl: the URL is a page, not a media file */
	FETCH_PERMANENT,	/* ERR has a sentence; retrying cannot help */
	FETCH_TRANSIENT,	/* ERR has a sentence; a retry may work */
	FETCH_CANCELLED
};


/*
 * GET URL (http/https only) into PATH.  When the answer is not media
 * (an HTML page, an error status) and ALLOW_PAGE is set, nothing is kept
 * and FETCH_NOT_MEDIA is returned so the caller can hand the URL to
 * yt-dlp.  Every connection, redirects included, is checked against
 * fetch_addr_blocked() unless cfg.allow_private_addresses is set.  Limits:
 * cfg.max_download_mb, cfg.fetch_timeout, cfg.max_redirects.  CTYPE (may
 * be NULL) receives the content type.  PATH is removed on failure.
 */
enum fetch_rc fetch_curl(struct task_ctx *, const char *url, const char *path,
	    int allow_page, char *ctype, size_t ctypelen, char *err,
	    size_t errlen);

/*
 * Download a site URL with cfg.ytdlp_path into DIR (empty), as
 * DIR/source.EXT; the downloaded file's path goes to PATH.  yt-dlp's own
 * error words are quoted in ERR after the sentence.  Files it leaves
 * behind on failure are removed.  yt-dlp goes through a proxy of ours
 * (fetch_proxy_start()) for as long as it runs, so every connection it
 * makes, redirects and the media URLs its extractor finds included, is
 * held to fetch_addr_allowed().
 */
enum fetch_rc fetch_ytdlp(struct task_ctx *, const char *url, const char *dir,
	    char *path, size_t pathlen, char *err, size_t errlen);

struct buf;
struct fetch_proxy;

/* A request to the proxy, as fetch_proxy_parse() read it. */
struct proxy_req {
	int	 tunnel;	/* CONNECT host:port, else plain http */
	int	 port;
	char	 host[256];	/* a name or an address, without brackets */
};

/*
 * Start the address-policy proxy on 127.0.0.1 and an ephemeral port, for
 * one yt-dlp run: CONNECT (https) and absolute-form http requests, each
 * address checked with fetch_addr_allowed(), only to ports 80, 443 and
 * PORT (the user's URL's).  Returns the proxy, or NULL with ERR; the
 * caller ends it with fetch_proxy_stop().
 */
struct fetch_proxy *fetch_proxy_start(int port, char *err, size_t errlen);

/* The proxy's URL with its credentials, http://clipmill:TOKEN@127.0.0.1:N;
 * a secret: pass it where other local users cannot read it. */
const char *fetch_proxy_url(const struct fetch_proxy *);

/*
 * Stop the proxy: close the listening socket and every connection, wait
 * up to 2 s for its threads, free it (or leave that to a thread still in
 * the resolver).  The last refusal ("10.0.0.5 is on a private or local
 * network", "" if none) goes to REFUSAL (may be NULL).  PX may be NULL.
 */
void	fetch_proxy_stop(struct fetch_proxy *px, char *refusal,
	    size_t refusallen);

/*
 * Parse a request head to the proxy (LEN bytes, up to and including the
 * empty line) whose Proxy-Authorization must equal AUTH ("Basic ...").
 * Returns 0 and fills REQ, and for plain http appends to OUT the head to
 * send on: origin-form target, the credentials and hop-by-hop headers
 * taken out, "Via: 1.1 clipmill" and "Connection: close" added.  Else the
 * HTTP status to answer: 400 malformed, 407 no or wrong credentials, 501
 * not CONNECT and not an http:// URL, 431 OUT is full.
 */
int	fetch_proxy_parse(const char *head, size_t len, const char *auth,
	    struct proxy_req *req, struct buf *out);

/* Map a line of yt-dlp's error output to a user sentence and a class
 * (FETCH_PERMANENT or FETCH_TRANSIENT).  Exposed for the table test. */
enum fetch_rc fetch_ytdlp_classify(const char *line, const char **sentence);

/* Parse one "clipmill-progress DOWNLOADED TOTAL ESTIMATE" line (our
 * --progress-template); returns percent 0..100 or -1. */
int	fetch_ytdlp_progress(const char *line);

#endif
