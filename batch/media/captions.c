/*
 * Captions (captions.h).  Words are grouped into lines of a few words,
 * broken at sentence ends and pauses; each word gets one event showing
 * its whole line with the word itself highlighted, so the highlight moves
 * word by word while the line stays put.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "captions.h"
#include "util.h"

#define LINE_WORDS	3	/* words per line at most */
#define LINE_CHARS	20	/* characters per line at most */
#define PAUSE_S		0.6	/* a pause this long starts a new line */
#define LINGER_S	0.25	/* a line stays this long after its last word */
#define MAX_ASS		(8u << 20)

struct style {
	const char	*name;
	int		 size;		/* at 1080 pixels wide */
	int		 bold, upper;
	const char	*text, *hi, *outline;	/* &HAABBGGRR */
	int		 border, shadow;
};

static const struct style styles[] = {
	{ "classic", 68, 0, 0, "&H00FFFFFF", "&H0000FFFF", "&H00000000", 5, 0 },
	{ "bold",    86, 1, 1, "&H00FFFFFF", "&H0000FF00", "&H00000000", 7, 2 },
	{ "minimal", 56, 0, 0, "&H00F0F0F0", "&H00FFD080", "&H60000000", 2, 0 },
};

static const struct style *
find_style(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(styles) / sizeof(styles[0]); i++)
		if (name != NULL && strcmp(styles[i].name, name) == 0)
			return &styles[i];
	return NULL;
}

int
captions_style_valid(const char *style)
{
	return find_style(style) != NULL;
}

static void
ass_time(struct buf *b, double t)
{
	long cs = t <= 0 ? 0 : lround(t * 100);

	buf_printf(b, "%ld:%02ld:%02ld.%02ld", cs / 360000, cs / 6000 % 60,
	    cs / 100 % 60, cs % 100);
}

/* A word as caption text: no ASS override characters, optional upper case. */
static void
add_word(struct buf *b, const char *w, int upper)
{
	for (; *w; w++) {
		unsigned char c = (unsigned char)*w;

		if (c == '{' || c == '}' || c == '\\' || c == '\n' || c == '\r')
			continue;
		if (upper && c < 128)
			c = (unsigned char)toupper(c);
		buf_add(b, &c, 1);
	}
}

char *
captions_ass(const struct word *w, size_t n, double start, double end,
    int width, int height, const char *style, const char *font, int *none,
    char *err, size_t errlen)
{
	const struct style *st = find_style(style);
	struct buf b;
	size_t i, first = n, last = 0;
	double scale = width / 1080.0;
	int events = 0;

	*none = 0;
	if (st == NULL) {
		seterr(err, errlen, "Unknown caption style \"%s\".",
		    style ? style : "");
		return NULL;
	}
	for (i = 0; i < n; i++)
		if (w[i].start >= start && w[i].end <= end + 0.5 &&
		    w[i].start < end && w[i].text[0] != '\0') {
			if (first == n)
				first = i;
			last = i;
		}
	if (first == n) {
		*none = 1;
		return NULL;
	}
	buf_init(&b, MAX_ASS);
	buf_printf(&b, "[Script Info]\nScriptType: v4.00+\nPlayResX: %d\n"
	    "PlayResY: %d\nWrapStyle: 2\nScaledBorderAndShadow: yes\n\n"
	    "[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, "
	    "SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
	    "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
	    "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, "
	    "MarginV, Encoding\n", width, height);
	/* Bottom centre, lifted above the bottom fifth where the apps put
	 * their buttons and descriptions, and away from the side edges. */
	buf_printf(&b, "Style: Cap,%s,%d,%s,%s,%s,&H80000000,%d,0,0,0,100,100,"
	    "0,0,1,%d,%d,2,%d,%d,%d,1\n\n", font, (int)lround(st->size * scale),
	    st->text, st->text, st->outline, st->bold ? -1 : 0,
	    (int)lround(st->border * scale), (int)lround(st->shadow * scale),
	    width / 12, width / 12, height * 22 / 100);
	buf_printf(&b, "[Events]\nFormat: Layer, Start, End, Style, Name, "
	    "MarginL, MarginR, MarginV, Effect, Text\n");

	for (i = first; i <= last; ) {
		size_t j = i, k, chars = strlen(w[i].text);
		double line_end;

		/* Grow the line while it stays short and nobody pauses. */
		while (j + 1 <= last && j + 1 - i < LINE_WORDS && !w[j].sent_end &&
		    w[j + 1].start - w[j].end < PAUSE_S &&
		    chars + 1 + strlen(w[j + 1].text) <= LINE_CHARS) {
			j++;
			chars += 1 + strlen(w[j].text);
		}
		line_end = w[j].end + LINGER_S;
		if (j + 1 <= last && line_end > w[j + 1].start)
			line_end = w[j + 1].start;
		if (line_end > end)
			line_end = end;
		for (k = i; k <= j; k++) {
			double s = w[k].start - start;
			double e = (k < j ? w[k + 1].start : line_end) - start;
			size_t m;

			if (e <= s)
				e = s + 0.05;
			buf_addstr(&b, "Dialogue: 0,");
			ass_time(&b, s);
			buf_addstr(&b, ",");
			ass_time(&b, e);
			buf_addstr(&b, ",Cap,,0,0,0,,");
			for (m = i; m <= j; m++) {
				if (m > i)
					buf_addstr(&b, " ");
				if (m == k)
					buf_printf(&b, "{\\c%s&}", st->hi);
				add_word(&b, w[m].text, st->upper);
				if (m == k)
					buf_addstr(&b, "{\\r}");
			}
			buf_addstr(&b, "\n");
			events++;
		}
		i = j + 1;
	}
	/* One check for every append above: a failure is sticky. */
	if (buf_failed(&b) || events == 0) {
		seterr(err, errlen, "The captions are too long to render.");
		buf_free(&b);
		return NULL;
	}
	return b.data;
}
