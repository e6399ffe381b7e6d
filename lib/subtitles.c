/* SubRip and WebVTT from a clip's words (subtitles.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "subtitles.h"
#include "util.h"

#define MAX_SUBTITLES	(8 << 20)	/* bytes: hours of speech */
#define CUE_PAUSE_S	1.0	/* a silence this long starts a new cue */
#define CUE_MAX_S	7.0	/* a cue shows at most this long */
#define CUE_MIN_S	0.3	/* nor shorter, when there is room */

/* The characters of UTF-8 string S (bytes that start a code point). */
static size_t
u8len(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/*
 * The last word of the cue that starts at word I (no later than LAST):
 * the words that fill two lines, no sentence end, long pause or more
 * than CUE_MAX_S inside.  *BRK: the first word of the second line, or
 * past the cue's end when it has one line.
 */
static size_t
cue_last(const struct word *w, size_t i, size_t last, size_t *brk)
{
	size_t j = i, len = u8len(w[i].text), c;
	int line = 1;

	*brk = last + 1;
	while (j < last && !w[j].sent_end &&
	    w[j + 1].start - w[j].end < CUE_PAUSE_S &&
	    w[j + 1].end - w[i].start <= CUE_MAX_S) {
		c = u8len(w[j + 1].text);
		if (len + 1 + c <= SUBTITLES_LINE)
			len += 1 + c;
		else if (line == 1) {
			line = 2;
			*brk = j + 1;
			len = c;
		} else
			break;
		j++;
	}
	return j;
}

/* Time T (seconds, clamped at 0) as hh:mm:ss,mmm (SRT) or hh:mm:ss.mmm. */
static void
add_time(struct buf *b, double t, enum subtitles_format fmt)
{
	long long ms = llround(fmax(t, 0) * 1000);

	buf_printf(b, "%02lld:%02lld:%02lld%c%03lld", ms / 3600000,
	    ms / 60000 % 60, ms / 1000 % 60, fmt == SUBTITLES_SRT ? ',' : '.',
	    ms % 1000);
}

/* Word S: control characters as spaces; in WebVTT, & < > as entities. */
static void
add_text(struct buf *b, const char *s, enum subtitles_format fmt)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20)
			buf_addstr(b, " ");
		else if (fmt == SUBTITLES_VTT && *s == '&')
			buf_addstr(b, "&amp;");
		else if (fmt == SUBTITLES_VTT && *s == '<')
			buf_addstr(b, "&lt;");
		else if (fmt == SUBTITLES_VTT && *s == '>')
			buf_addstr(b, "&gt;");
		else
			buf_add(b, s, 1);
	}
}

char *
subtitles_make(const struct word *w, size_t n, double start, double end,
    enum subtitles_format fmt)
{
	struct buf b;
	size_t i, j, k, brk, first, last, cue = 0;
	double s, e;

	buf_init(&b, MAX_SUBTITLES);
	buf_addstr(&b, fmt == SUBTITLES_VTT ? "WEBVTT\n\n" : "");
	if (transcript_span(w, n, start, end, &first, &last) != 0)
		goto out;
	for (i = first; i <= last; i = j + 1) {
		j = cue_last(w, i, last, &brk);
		/* The cue shows until its last word ends (a short word a
		 * little longer), never past the next cue or the clip. */
		s = w[i].start - start;
		e = fmax(w[j].end, w[i].start + CUE_MIN_S);
		if (j < last && e > w[j + 1].start)
			e = w[j + 1].start;
		e = fmin(e, end) - start;
		if (e <= s)
			e = s + 0.001;
		buf_printf(&b, "%zu\n", ++cue);
		add_time(&b, s, fmt);
		buf_addstr(&b, " --> ");
		add_time(&b, e, fmt);
		buf_addstr(&b, "\n");
		for (k = i; k <= j; k++) {
			if (k > i)
				buf_addstr(&b, k == brk ? "\n" : " ");
			add_text(&b, w[k].text, fmt);
		}
		buf_addstr(&b, "\n\n");
	}
out:
	/* One check for every append above: a failure is sticky. */
	if (buf_failed(&b)) {
		buf_free(&b);
		return NULL;
	}
	return b.data != NULL ? b.data : strdup("");
}
