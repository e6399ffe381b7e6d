/*
 * Fetching a source: direct media URLs through libcurl (fetch_curl.c, with
 * the address policy of fetch_policy.c) and site URLs through yt-dlp (fetch_ytdlp.c).  Both
 * write into the task's scratch directory and report progress through the
 * task context; neither touches the store or the database.
 */
#ifndef CLIPMILL_FETCH_H
#define CLIPMILL_FETCH_H

#include <stddef.h>
#include <sys/socket.h>

struct task_ctx;

enum fetch_rc {
	FETCH_OK = 0,
	FETCH_NOT_MEDIA,	/* curl: the URL is a page, not a media file */
	FETCH_PERMANENT,	/* ERR has a sentence; retrying cannot help */
	FETCH_TRANSIENT,	/* ERR has a sentence; a retry may work */
	FETCH_CANCELLED
};

/*
 * 1 when an address may not be reached: loopback, private (RFC 1918, ULA),
 * link-local, CGNAT, multicast, unspecified, broadcast, reserved and
 * documentation ranges, including IPv4 inside IPv4-mapped and NAT64
 * addresses.  0 when it is a public address.
 */
int	fetch_addr_blocked(const struct sockaddr *sa);

/*
 * The policy every fetch connection is held to (fetch_policy.c): 1 when
 * SA may be connected to, that is cfg.allow_private_addresses is set, or
 * the address is public, or it is inside cfg.fetch_allow_cidrs.
 */
int	fetch_addr_allowed(const struct sockaddr *sa);

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
 * behind on failure are removed.  yt-dlp makes its own connections, which
 * the address policy cannot see: the fetch stage only hands it URLs whose
 * host libcurl has already reached under the policy (the first request),
 * so a site URL pointing inside is refused, but a public page that sends
 * yt-dlp on to an internal address is not caught (run the runner where
 * such addresses are firewalled if that matters).
 */
enum fetch_rc fetch_ytdlp(struct task_ctx *, const char *url, const char *dir,
	    char *path, size_t pathlen, char *err, size_t errlen);

/* Map a line of yt-dlp's error output to a user sentence and a class
 * (FETCH_PERMANENT or FETCH_TRANSIENT).  Exposed for the table test. */
enum fetch_rc fetch_ytdlp_classify(const char *line, const char **sentence);

/* Parse one "clipmill-progress DOWNLOADED TOTAL ESTIMATE" line (our
 * --progress-template); returns percent 0..100 or -1. */
int	fetch_ytdlp_progress(const char *line);

#endif
