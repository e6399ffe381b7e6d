/*
 * Site URLs through yt-dlp, run as a child process with an argument
 * vector (never a shell), in its own process group so that a timeout or
 * a cancel stops it together with the ffmpeg it may start for merging.
 * Its connections go through the address-policy proxy of proxy.c,
 * started for the run and stopped when yt-dlp has exited.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "config.h"
#include "fetch.h"
#include "log.h"
#include "runner/stage.h"
#include "util.h"

/*
 * yt-dlp's protocols whose connections are all HTTP(S) requests, which
 * go through our proxy (proxy.c): its own downloaders use the
 * proxy, and the ffmpeg it runs for "m3u8" gets it as http_proxy.  The
 * others (rtmp, rtsp, mms, websockets) are handed to rtmpdump, ffmpeg,
 * mpv or mplayer, which connect directly to wherever the page says, past
 * the address policy: formats using them are never chosen.
 */
#define HTTP_ONLY "[protocol~='^(https?|m3u8(_native)?|" \
	"http_dash_segments(_generator)?|ism|f4m)$']"

/* What yt-dlp says, and what we tell the user.  First match wins. */
static const struct {
	const char	*needle;
	enum fetch_rc	 rc;
	const char	*sentence;
} ytdlp_errors[] = {
	/* Our proxy's 403 (proxy.c); fetch_ytdlp() names the address. */
	{ "Refused by clipmill", FETCH_PERMANENT,
	  "The video's address is not allowed: it is on a private or local "
	  "network, or on a port that cannot be used." },
	/* Every format it found is over a protocol HTTP_ONLY leaves out. */
	{ "Requested format is not available", FETCH_PERMANENT,
	  "The video is only offered over a protocol that cannot be fetched "
	  "here (such as RTMP or RTSP)." },
	{ "Unsupported URL", FETCH_PERMANENT,
	  "This site is not supported: no video could be found at that "
	  "address." },
	{ "larger than max-filesize", FETCH_PERMANENT,
	  "The video is too large to download." },
	{ "File size limit exceeded", FETCH_PERMANENT,
	  "The video is too large to download." },
	{ "Private video", FETCH_PERMANENT,
	  "The video is private or has been removed." },
	{ "video is private", FETCH_PERMANENT,
	  "The video is private or has been removed." },
	{ "has been removed", FETCH_PERMANENT,
	  "The video is private or has been removed." },
	{ "Video unavailable", FETCH_PERMANENT,
	  "The video is private or has been removed." },
	{ "not available", FETCH_PERMANENT,
	  "The video is private or has been removed." },
	{ "HTTP Error 404", FETCH_PERMANENT,
	  "The video was not found (HTTP 404): it may have been removed." },
	{ "HTTP Error 410", FETCH_PERMANENT,
	  "The video was not found (HTTP 410): it has been removed." },
	{ "Sign in to confirm", FETCH_PERMANENT,
	  "The site wants a signed-in user for this video; an operator can "
	  "set a cookies file (ytdlp_cookies)." },
	{ "HTTP Error 403", FETCH_PERMANENT,
	  "The site refused the download (HTTP 403); it may need a cookies "
	  "file (ytdlp_cookies) or a newer yt-dlp." },
	{ "HTTP Error 429", FETCH_TRANSIENT,
	  "The site is limiting requests (HTTP 429); will try again." },
	{ "HTTP Error 5", FETCH_TRANSIENT,
	  "The site is failing (HTTP 5xx); will try again." },
	{ "timed out", FETCH_TRANSIENT,
	  "The site did not answer in time; will try again." },
	{ "Unable to download", FETCH_TRANSIENT,
	  "The video could not be downloaded; will try again." },
};

enum fetch_rc
fetch_ytdlp_classify(const char *line, const char **sentence)
{
	size_t i;

	for (i = 0; i < sizeof(ytdlp_errors) / sizeof(ytdlp_errors[0]); i++)
		if (strstr(line, ytdlp_errors[i].needle) != NULL) {
			*sentence = ytdlp_errors[i].sentence;
			return ytdlp_errors[i].rc;
		}
	*sentence = "The downloader (yt-dlp) failed.";
	return FETCH_TRANSIENT;
}

int
fetch_ytdlp_progress(const char *line)
{
	const char *p;
	long long got, total = 0, est = 0;
	char a[32], b[32], c[32];

	if ((p = strstr(line, "clipmill-progress ")) == NULL)
		return -1;
	if (sscanf(p + 18, "%31s %31s %31s", a, b, c) != 3)
		return -1;
	if (parse_ll(a, 0, (long long)1 << 50, &got) == -1)
		return -1;
	/* yt-dlp prints "NA" for fields it does not know yet */
	if (parse_ll(b, 1, (long long)1 << 50, &total) == -1 &&
	    parse_ll(c, 1, (long long)1 << 50, &est) == -1)
		return 0;
	if (total <= 0)
		total = est;
	return got >= total ? 100 : (int)(got * 100 / total);
}

/* Remove every file in DIR (yt-dlp's leftovers: .part, .ytdl, fragments). */
static void
empty_dir(const char *dir)
{
	DIR *d;
	struct dirent *e;
	char p[4096];

	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' && (e->d_name[1] == '\0' ||
		    (e->d_name[1] == '.' && e->d_name[2] == '\0')))
			continue;
		if (xsnprintf(p, sizeof(p), "%s/%s", dir, e->d_name) == 0)
			unlink(p);
	}
	closedir(d);
}

/* 1 for yt-dlp's per-format pieces before a merge: NAME.f137.mp4 */
static int
format_part(const char *n)
{
	const char *p;

	for (p = strstr(n, ".f"); p != NULL; p = strstr(p + 1, ".f")) {
		const char *q = p + 2;
		while (*q >= '0' && *q <= '9')
			q++;
		if (q > p + 2 && *q == '.')
			return 1;
	}
	return 0;
}

/* The finished download: DIR/source.EXT, not a partial file. */
static int
find_output(const char *dir, char *path, size_t pathlen)
{
	DIR *d;
	struct dirent *e;
	int found = 0;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		const char *n = e->d_name, *dot = strrchr(n, '.');
		if (strncmp(n, "source.", 7) != 0 || dot == NULL ||
		    strcmp(dot, ".part") == 0 || strcmp(dot, ".ytdl") == 0 ||
		    format_part(n) || strstr(n, ".temp.") != NULL)
			continue;
		if (xsnprintf(path, pathlen, "%s/%s", dir, n) == 0)
			found = 1;
		break;
	}
	closedir(d);
	return found;
}

/* Copy the operator's cookies file into DIR: yt-dlp writes cookies back,
 * and concurrent downloads must not rewrite the shared original. */
static int
copy_cookies(const char *dir, char *out, size_t outlen, char *err,
    size_t errlen)
{
	int in = -1, o = -1, rc = -1;
	char b[8192];
	ssize_t n;

	if (xsnprintf(out, outlen, "%s/cookies.txt", dir) == -1)
		return -1;
	if ((in = open(cfg.ytdlp_cookies, O_RDONLY | O_CLOEXEC)) == -1 ||
	    (o = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1) {
		seterr(err, errlen, "cannot read the cookies file %s: %s",
		    cfg.ytdlp_cookies, strerror(errno));
		goto out;
	}
	while ((n = read(in, b, sizeof(b))) > 0)
		if (write(o, b, (size_t)n) != n)
			goto out;
	rc = n == 0 ? 0 : -1;
out:
	if (in != -1)
		close(in);
	if (o != -1)
		close(o);
	return rc;
}

/* yt-dlp's argument vector: room for every option we give it and a
 * NULL.  ytdlp_arg() refuses past it, and one check at the end (the
 * vector's n is then YTDLP_ARGC + 1) catches any refusal. */
#define YTDLP_ARGC	39

struct ytdlp_argv {
	const char	*v[YTDLP_ARGC + 1];
	size_t		 n;
	char		 maxfs[32], outtpl[4096], cookies[4096];
};

static void
ytdlp_arg(struct ytdlp_argv *a, const char *s)
{
	if (a->n < YTDLP_ARGC)
		a->v[a->n++] = s;
	else
		a->n = YTDLP_ARGC + 1;	/* sticky: too many */
}

/* yt-dlp's arguments for URL, downloading into DIR.  FETCH_OK, or the rc
 * with ERR. */
static enum fetch_rc
ytdlp_argv(struct ytdlp_argv *a, const char *url, const char *dir,
    char *err, size_t errlen)
{
	a->n = 0;
	snprintf(a->maxfs, sizeof(a->maxfs), "%lldM", cfg.max_download_mb);
	if (xsnprintf(a->outtpl, sizeof(a->outtpl), "%s/source.%%(ext)s",
	    dir) == -1) {
		seterr(err, errlen, "scratch path too long");
		return FETCH_TRANSIENT;
	}
	ytdlp_arg(a, cfg.ytdlp_path);
	ytdlp_arg(a, "--ignore-config");
	/* The proxy's URL (with its token) comes on stdin, which only we
	 * can read, not on the command line, which every local user can. */
	ytdlp_arg(a, "--config-locations");
	ytdlp_arg(a, "-");
	ytdlp_arg(a, "--no-playlist");
	ytdlp_arg(a, "--no-cache-dir");
	ytdlp_arg(a, "--no-mtime");
	ytdlp_arg(a, "--no-colors");
	ytdlp_arg(a, "--newline");
	ytdlp_arg(a, "--no-warnings");
	ytdlp_arg(a, "--socket-timeout");
	ytdlp_arg(a, "30");
	/* MP4 at 1080p or below, merged from the best parts when the site
	 * serves them apart, else whatever is best at that height; only
	 * formats fetched over HTTP (HTTP_ONLY). */
	ytdlp_arg(a, "-f");
	ytdlp_arg(a, "bv*" HTTP_ONLY "[height<=1080][ext=mp4]+ba" HTTP_ONLY
	    "[ext=m4a]/b" HTTP_ONLY "[height<=1080][ext=mp4]/bv*" HTTP_ONLY
	    "[height<=1080]+ba" HTTP_ONLY "/b" HTTP_ONLY "[height<=1080]/b"
	    HTTP_ONLY);
	ytdlp_arg(a, "--merge-output-format");
	ytdlp_arg(a, "mp4");
	ytdlp_arg(a, "--max-filesize");
	ytdlp_arg(a, a->maxfs);
	ytdlp_arg(a, "--progress");
	ytdlp_arg(a, "--progress-template");
	ytdlp_arg(a, "download:clipmill-progress "
	    "%(progress.downloaded_bytes)s %(progress.total_bytes)s "
	    "%(progress.total_bytes_estimate)s");
	ytdlp_arg(a, "-o");
	ytdlp_arg(a, a->outtpl);
	if (cfg.ytdlp_cookies[0] != '\0') {
		if (copy_cookies(dir, a->cookies, sizeof(a->cookies), err,
		    errlen) == -1)
			return FETCH_PERMANENT;
		ytdlp_arg(a, "--cookies");
		ytdlp_arg(a, a->cookies);
	}
	ytdlp_arg(a, "--");
	ytdlp_arg(a, url);
	if (a->n > YTDLP_ARGC) {
		seterr(err, errlen, "too many arguments for yt-dlp");
		return FETCH_TRANSIENT;
	}
	a->v[a->n] = NULL;
	return FETCH_OK;
}

/* Start yt-dlp with argument vector ARGV in DIR, its own process group,
 * the download size capped by the kernel too: its options come from
 * CFGFD, its output goes to OUTFD.  The pid, or -1 with errno. */
static pid_t
ytdlp_spawn(const char *const *argv, const char *dir, const char *home,
    int cfgfd, int outfd)
{
	char e_path[] = "PATH=/usr/local/bin:/usr/bin:/bin";
	char e_lang[] = "LANG=C.UTF-8", e_pyio[] = "PYTHONIOENCODING=utf-8";
	char *envp[] = { e_path, (char *)home, e_lang, e_pyio, NULL };
	struct rlimit rl;
	pid_t pid, parent = getpid();

	if ((pid = fork()) != 0) {
		if (pid > 0)
			setpgid(pid, pid);
		return pid;
	}
	/* Its own group, killable as one; the size cap enforced by the
	 * kernel too, in case the site hid the size.  It dies with the task
	 * child (a SIGKILL of it included); the runner kills the rest of
	 * the group (task_group). */
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(126);
	rl.rlim_cur = rl.rlim_max = (rlim_t)(cfg.max_download_mb + 64) *
	    1024 * 1024;
	setrlimit(RLIMIT_FSIZE, &rl);
	signal(SIGXFSZ, SIG_DFL);
	if (dup2(cfgfd, 0) == -1 || dup2(outfd, 1) == -1 ||
	    dup2(outfd, 2) == -1 || chdir(dir) == -1)
		_exit(126);
	execve(cfg.ytdlp_path, (char *const *)argv, envp);
	_exit(127);
}

/* What yt-dlp said while it ran. */
struct ytdlp_out {
	char	lasterr[1024];	/* its last "ERROR:" (or size) line */
	char	tail[1024];	/* its last line */
	int	pct;		/* the download's last percentage */
	int	cancelled, timedout;
};

/* Take one line of yt-dlp's output into O.  1 when it was a progress
 * line (O->pct is new), else 0. */
static int
ytdlp_line(struct ytdlp_out *o, const char *line)
{
	int pct;

	if ((pct = fetch_ytdlp_progress(line)) >= 0) {
		o->pct = pct;
		return 1;
	}
	/* yt-dlp's note on reading our options: not news. */
	if (strncmp(line, "Reading options from STDIN", 26) == 0)
		return 0;
	if (strncmp(line, "ERROR:", 6) == 0 ||
	    strstr(line, "max-filesize") != NULL)
		snprintf(o->lasterr, sizeof(o->lasterr), "%.1000s", line);
	if (line[0] != '\0')
		snprintf(o->tail, sizeof(o->tail), "%.1000s", line);
	return 0;
}

/* Read yt-dlp's output from FD line by line until it closes the pipe, the
 * task is cancelled or DEADLINE passes; poll at least once a second so a
 * cancel is seen while it is quiet. */
static void
ytdlp_read(struct task_ctx *ctx, int fd, long long deadline,
    struct ytdlp_out *o)
{
	char line[2048];
	struct buf acc;

	buf_init(&acc, 65536);
	while (!o->cancelled) {
		struct pollfd p = { fd, POLLIN, 0 };
		char rb[4096], *nl;
		ssize_t r;
		int pr = poll(&p, 1, 1000);

		if (task_progress(ctx, o->pct, "downloading") != 0) {
			o->cancelled = 1;
			break;
		}
		if (now_ms() > deadline) {
			o->timedout = 1;
			break;
		}
		if (pr <= 0)
			continue;
		r = read(fd, rb, sizeof(rb));
		if (r == 0 || (r < 0 && errno != EINTR))
			break;
		if (r < 0)
			continue;
		if (buf_add(&acc, rb, (size_t)r) == -1)
			buf_reset(&acc);	/* a runaway line: drop it */
		while (!o->cancelled && acc.len > 0 &&
		    (nl = memchr(acc.data, '\n', acc.len)) != NULL) {
			size_t ll = (size_t)(nl - acc.data);
			size_t cp = ll < sizeof(line) - 1 ? ll : sizeof(line) - 1;

			memcpy(line, acc.data, cp);
			line[cp] = '\0';
			if (cp > 0 && line[cp - 1] == '\r')
				line[cp - 1] = '\0';
			memmove(acc.data, nl + 1, acc.len - ll - 1);
			acc.len -= ll + 1;
			if (ytdlp_line(o, line) && task_progress(ctx, o->pct,
			    "downloading: %d%%", o->pct) != 0)
				o->cancelled = 1;
		}
	}
	buf_free(&acc);
}

/* The verdict on a finished yt-dlp (wait STATUS, its output O, the
 * proxy's last REFUSAL): the rc, ERR for the user; PATH gets the
 * download on FETCH_OK. */
static enum fetch_rc
ytdlp_verdict(int status, const struct ytdlp_out *o, const char *refusal,
    const char *dir, char *path, size_t pathlen, char *err, size_t errlen)
{
	const char *words = o->lasterr[0] ? o->lasterr : o->tail, *sentence;
	char named[640];
	enum fetch_rc rc;

	if (o->cancelled) {
		seterr(err, errlen, "The download was cancelled.");
		return FETCH_CANCELLED;
	}
	if (o->timedout) {
		seterr(err, errlen, "The download took longer than the limit "
		    "of %lld s.", cfg.fetch_timeout);
		return FETCH_TRANSIENT;
	}
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGXFSZ) {
		seterr(err, errlen, "The video is too large: the limit is "
		    "%lld MB.", cfg.max_download_mb);
		return FETCH_PERMANENT;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		seterr(err, errlen, "The downloader %s could not be started.",
		    cfg.ytdlp_path);
		return FETCH_TRANSIENT;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    o->lasterr[0] == '\0' && find_output(dir, path, pathlen))
		return FETCH_OK;
	rc = fetch_ytdlp_classify(words, &sentence);
	if (refusal[0] != '\0' && strstr(words, "Refused by clipmill") != NULL &&
	    xsnprintf(named, sizeof(named), "The video's address is not "
	    "allowed: %s.", refusal) == 0)
		sentence = named;
	if (o->lasterr[0] == '\0' && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0) {
		sentence = "The downloader (yt-dlp) finished without a video "
		    "file.";
		rc = FETCH_PERMANENT;
	}
	/* Its own words go into the error, so the user and the operator see
	 * exactly what the site said. */
	seterr(err, errlen, "%s yt-dlp said: \"%s\"", sentence, words);
	return rc;
}

enum fetch_rc
fetch_ytdlp(struct task_ctx *ctx, const char *url, const char *dir, char *path,
    size_t pathlen, char *err, size_t errlen)
{
	char home[4200], refusal[512] = "", proxyopt[256];
	struct ytdlp_argv *a;
	struct ytdlp_out o;
	struct fetch_proxy *px = NULL;
	int pfd[2] = { -1, -1 }, cfgfd[2] = { -1, -1 }, status = 0;
	pid_t pid = -1;
	enum fetch_rc rc = FETCH_TRANSIENT;

	memset(&o, 0, sizeof(o));
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		seterr(err, errlen, "out of memory");
		return FETCH_TRANSIENT;
	}
	if (xsnprintf(home, sizeof(home), "HOME=%s", dir) == -1) {
		seterr(err, errlen, "scratch path too long");
		goto out;
	}
	if ((rc = ytdlp_argv(a, url, dir, err, errlen)) != FETCH_OK)
		goto out;
	rc = FETCH_TRANSIENT;
	if ((px = fetch_proxy_start(fetch_url_port(url), err, errlen)) == NULL)
		goto out;
	if (xsnprintf(proxyopt, sizeof(proxyopt), "--proxy %s\n",
	    fetch_proxy_url(px)) == -1) {
		seterr(err, errlen, "proxy URL too long");
		goto out;
	}
	/* A pipe holds far more than one line: written before the fork. */
	if (pipe2(pfd, O_CLOEXEC) == -1 || pipe2(cfgfd, O_CLOEXEC) == -1 ||
	    write(cfgfd[1], proxyopt, strlen(proxyopt)) !=
	    (ssize_t)strlen(proxyopt)) {
		seterr(err, errlen, "cannot start yt-dlp: %s", strerror(errno));
		goto out;
	}
	close(cfgfd[1]);
	cfgfd[1] = -1;
	if ((pid = ytdlp_spawn(a->v, dir, home, cfgfd[0], pfd[1])) == -1) {
		seterr(err, errlen, "cannot start yt-dlp: %s", strerror(errno));
		goto out;
	}
	close(pfd[1]);
	pfd[1] = -1;
	task_group(ctx, pid);
	log_ev(LOG_INFO, "ytdlp_start", "{siss}", "pid", (int)pid, "url", url);

	ytdlp_read(ctx, pfd[0], now_ms() + cfg.fetch_timeout * 1000, &o);
	if (o.cancelled || o.timedout)
		kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (o.cancelled || o.timedout)
		kill(-pid, SIGKILL);	/* stragglers (ffmpeg) */
	task_group(ctx, 0);
	pid = -1;
	/* No connection outlives yt-dlp. */
	fetch_proxy_stop(px, refusal, sizeof(refusal));
	px = NULL;
	rc = ytdlp_verdict(status, &o, refusal, dir, path, pathlen, err,
	    errlen);
	log_ev(rc == FETCH_OK ? LOG_INFO : LOG_WARN, "ytdlp_done",
	    "{sisssi}", "status", status, "last", o.lasterr, "rc", (int)rc);
out:
	if (pid > 0) {
		kill(-pid, SIGKILL);
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
		task_group(ctx, 0);
	}
	fetch_proxy_stop(px, NULL, 0);
	if (rc != FETCH_OK)
		empty_dir(dir);
	if (pfd[0] != -1)
		close(pfd[0]);
	if (pfd[1] != -1)
		close(pfd[1]);
	if (cfgfd[0] != -1)
		close(cfgfd[0]);
	if (cfgfd[1] != -1)
		close(cfgfd[1]);
	free(a);
	return rc;
}
