/*
 * Captions (captions.h).  Words are grouped into lines of a few words,
 * broken at sentence ends, pauses and the width of the safe area; each
 * word gets one event showing its whole line with the word itself
 * highlighted, so the highlight moves word by word while the line stays
 * put.  Each line is placed once, clear of the face over its time span.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "captions.h"
#include "util.h"

#define PAUSE_S		0.6	/* a pause this long starts a new line */
#define LINGER_S	0.25	/* a line stays this long after its last word */
#define FACE_SPAN_S	0.25	/* the face is looked at this long around a line */
#define FACE_NEAR_S	1.5	/* a face seen this close to a line still counts */
#define FACE_H		(1.0 / 3)	/* the face box's height, share of the crop */
#define GAP		0.02	/* caption to face, share of the height */
#define LOW_AT		0.70	/* a caption's centre when no face is in the way */
#define HIGH_AT		0.22	/* its centre in the upper third, over a low face */
#define MAX_ASS		(8u << 20)

enum tcase { CASE_SENTENCE, CASE_UPPER, CASE_LOWER };

struct style {
	const char	*name;
	double		 size;		/* font size, share of the frame height */
	int		 bold;
	enum tcase	 tcase;
	int		 words;		/* per line at most */
	double		 adv;		/* a character's mean advance, in font
					 * sizes (DejaVu Sans; for line widths) */
	const char	*text, *hi, *outline;	/* &HAABBGGRR */
	double		 border, shadow;	/* shares of the frame height */
	int		 hi_scale;	/* the spoken word's size, per cent */
	int		 bare;		/* drop trailing , . ; : from words */
};

static const struct style styles[] = {
	{ "classic", 0.048, 1, CASE_SENTENCE, 3, 0.52, "&H00FFFFFF",
	    "&H0000FFFF", "&H00000000", 0.0030, 0.0010, 100, 0 },
	{ "bold", 0.065, 1, CASE_UPPER, 2, 0.64, "&H00FFFFFF", "&H0000E6FF",
	    "&H00000000", 0.0052, 0.0021, 115, 1 },
	{ "minimal", 0.036, 0, CASE_LOWER, 4, 0.46, "&H00F0F0F0",
	    "&H00FFD080", "&H60000000", 0.0012, 0.0010, 100, 1 },
};

/* One line of captions: words I..J, where it goes and at what scale. */
struct line {
	size_t	i, j;
	double	s, e;		/* clip time */
	int	x, y;		/* its bottom centre (\an2\pos) */
	int	fit;		/* per cent: shrunk to fit the safe width */
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

static double
clampd(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

int
captions_faces(const struct crop_path *cp, int h, struct cap_face **out,
    size_t *n)
{
	double sy, half = FACE_H / 2 * h;
	size_t i, k = 0;

	*out = NULL;
	*n = 0;
	if (cp == NULL || cp->n == 0 || cp->crop_h <= 0)
		return 0;
	if ((*out = calloc(cp->n, sizeof(**out))) == NULL)
		return -1;
	sy = (double)h / cp->crop_h;
	for (i = 0; i < cp->n; i++) {
		const struct crop_point *p = &cp->pt[i];
		double cy = (p->fy - p->y) * sy;

		if (p->fx < 0 || p->fy < 0)
			continue;
		(*out)[k].t = p->t;
		(*out)[k].top = (int)lround(clampd(cy - half, 0, h));
		(*out)[k].bottom = (int)lround(clampd(cy + half, 0, h));
		k++;
	}
	*n = k;
	return 0;
}

int
captions_layout(struct caption_req *rq, const struct crop_frame *f,
    const struct render_geom *g, struct cap_face **out)
{
	struct cap_face *pf[CROP_PANES] = { NULL, NULL };
	size_t np[CROP_PANES] = { 0, 0 }, k;
	int i, rc = -1;

	*out = NULL;
	rq->face = NULL;
	rq->nface = 0;
	rq->at = rq->keep_top = rq->keep_bottom = 0;
	if (g->layout == LAYOUT_FIT) {
		/* Below the picture, in the middle of what the safe area
		 * leaves of the lower band; over the picture only when the
		 * band is too thin for a line. */
		rq->keep_top = g->py;
		rq->keep_bottom = g->py + g->ph;
		rq->at = (g->py + g->ph + (int)(CAPTIONS_SAFE_BOTTOM *
		    g->out_h)) / 2;
		return 0;
	}
	if (f == NULL || f->npanes < g->npanes)
		return 0;
	if (g->npanes == 1) {
		if (captions_faces(&f->pane[0], g->out_h, out, &rq->nface) != 0)
			return -1;
		rq->face = *out;
		return 0;
	}
	/* Split: between the halves, clear of both faces. */
	rq->at = g->out_h / 2;
	for (i = 0; i < g->npanes; i++)
		if (captions_faces(&f->pane[i], g->pane[i].h, &pf[i], &np[i]) != 0)
			goto out;
	if (np[0] + np[1] > 0 &&
	    (*out = calloc(np[0] + np[1], sizeof(**out))) == NULL)
		goto out;
	for (i = 0; i < g->npanes; i++)
		for (k = 0; k < np[i]; k++) {
			struct cap_face *c = &(*out)[rq->nface++];

			*c = pf[i][k];
			c->top += g->pane[i].y;
			c->bottom += g->pane[i].y;
			c->pane = i;
		}
	rq->face = *out;
	rc = 0;
out:
	free(pf[0]);
	free(pf[1]);
	return rc;
}

static void
ass_time(struct buf *b, double t)
{
	long cs = t <= 0 ? 0 : lround(t * 100);

	buf_printf(b, "%ld:%02ld:%02ld.%02ld", cs / 360000, cs / 6000 % 60,
	    cs / 100 % 60, cs % 100);
}

/* Whether C is dropped from the end of a word in style ST. */
static int
trailing_drop(const struct style *st, char c)
{
	return st->bare && c != '\0' && strchr(",.;:", c) != NULL;
}

/* The characters word W shows in style ST (UTF-8 sequences count once). */
static size_t
word_chars(const struct style *st, const char *w)
{
	size_t len = strlen(w), n = 0, i;

	while (len > 0 && trailing_drop(st, w[len - 1]))
		len--;
	for (i = 0; i < len; i++)
		if (((unsigned char)w[i] & 0xC0) != 0x80 && !strchr("{}\\", w[i]))
			n++;
	return n;
}

/*
 * A word as caption text in ST's case: no ASS override characters.
 * FIRST: it opens a sentence (capitalised in sentence case, as is the
 * pronoun "I", which recognisers often give in lower case).
 */
static void
add_word(struct buf *b, const struct style *st, const char *w, int first)
{
	size_t len = strlen(w), i;
	int pronoun = (w[0] == 'i' || w[0] == 'I') &&
	    (w[1] == '\0' || w[1] == '\'' || !isalpha((unsigned char)w[1]));

	while (len > 0 && trailing_drop(st, w[len - 1]))
		len--;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)w[i];

		if (c == '{' || c == '}' || c == '\\' || c == '\n' || c == '\r')
			continue;
		if (c < 128 && st->tcase == CASE_UPPER)
			c = (unsigned char)toupper(c);
		else if (c < 128 && st->tcase == CASE_LOWER)
			c = (unsigned char)tolower(c);
		else if (i == 0 && (first || pronoun) && c < 128)
			c = (unsigned char)toupper(c);
		buf_add(b, &c, 1);
	}
}

/* The union of PANE's face boxes over [S, E] of clip time (or the nearest
 * one seen within FACE_NEAR_S) into *TOP and *BOT: 1, or 0 when none. */
static int
face_span(const struct caption_req *rq, int pane, double s, double e,
    int *top, int *bot)
{
	const struct cap_face *near = NULL;
	double best = FACE_NEAR_S;
	size_t i;
	int have = 0;

	for (i = 0; i < rq->nface; i++) {
		const struct cap_face *f = &rq->face[i];
		double d = f->t < s ? s - f->t : f->t > e ? f->t - e : 0;

		if (f->pane != pane)
			continue;
		if (d <= FACE_SPAN_S) {
			*top = have && *top < f->top ? *top : f->top;
			*bot = have && *bot > f->bottom ? *bot : f->bottom;
			have = 1;
		} else if (d < best) {
			best = d;
			near = f;
		}
	}
	if (!have && near != NULL) {
		*top = near->top;
		*bot = near->bottom;
		have = 1;
	}
	return have;
}

/*
 * The bottom row of a caption BH rows tall shown over [S, E]: below the
 * face box when it fits there, else in the upper third above it, always
 * inside the safe area; when neither fits, the side covering less face.
 */
static int
place(const struct caption_req *rq, double s, double e, double bh)
{
	double h = rq->height, top = CAPTIONS_SAFE_TOP * h;
	double bot = CAPTIONS_SAFE_BOTTOM * h, gap = GAP * h;
	double low = fmin(LOW_AT * h + bh / 2, bot), high = HIGH_AT * h + bh / 2;
	int ft = 0, fb = 0;

	if (!face_span(rq, 0, s, e, &ft, &fb))
		return (int)lround(low);
	if (fb + gap + bh <= bot)
		return (int)lround(clampd(low, fb + gap + bh, bot));
	if (top + bh <= ft - gap)
		return (int)lround(clampd(high, top + bh, ft - gap));
	return (int)lround(fb + gap - (bot - bh) <= top + bh - (ft - gap) ?
	    bot : top + bh);
}

/* Whether a caption whose bottom row is Y, BH rows tall, keeps GAP rows
 * from each of the N row spans O (top, bottom). */
static int
clear_of(double y, double bh, double gap, const int (*o)[2], int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (y > o[i][0] - gap + 0.5 && y - bh < o[i][1] + gap - 0.5)
			return 0;
	return 1;
}

/*
 * The bottom row of a caption BH rows tall shown over [S, E] when lines go
 * by RQ->at: the place nearest AT, inside the safe area, clear of every
 * pane's face box and, if it can be, of the kept rows; AT itself (within
 * the safe area) when nothing is clear.
 */
static int
place_near(const struct caption_req *rq, double s, double e, double bh)
{
	double h = rq->height, top = CAPTIONS_SAFE_TOP * h + bh;
	double bot = CAPTIONS_SAFE_BOTTOM * h, gap = GAP * h;
	double want = clampd(rq->at + bh / 2, top, bot), best = -1;
	int o[CROP_PANES + 1][2], n = 0, pane, i, pass;

	for (pane = 0; pane < CROP_PANES; pane++)
		if (face_span(rq, pane, s, e, &o[n][0], &o[n][1]))
			n++;
	if (rq->keep_bottom > rq->keep_top) {
		o[n][0] = rq->keep_top;
		o[n][1] = rq->keep_bottom;
		n++;
	}
	/* First clear of the kept rows too, then of the faces only. */
	for (pass = 0; pass < 2 && best < 0; pass++) {
		int m = pass == 0 || rq->keep_bottom <= rq->keep_top ? n : n - 1;

		for (i = -1; i < 2 * m; i++) {
			double y = i < 0 ? want : i % 2 == 0 ?
			    o[i / 2][0] - gap : o[i / 2][1] + gap + bh;

			y = clampd(y, top, bot);
			if (clear_of(y, bh, gap, o, m) &&
			    (best < 0 || fabs(y - want) < fabs(best - want)))
				best = y;
		}
	}
	return (int)lround(best < 0 ? want : best);
}

/* Whether word W ends a clause (a comma, semicolon, colon or dash). */
static int
clause_end(const char *w)
{
	size_t len = strlen(w);

	return len > 0 && strchr(",;:-", w[len - 1]) != NULL;
}

/* The last word of the line that starts at word I: at most the preset's
 * words, no sentence or clause end or pause inside, narrower than the safe width
 * (a single word wider than that is shrunk, see lay_out). */
static size_t
line_last(const struct caption_req *rq, const struct style *st, size_t i,
    size_t last)
{
	double px = st->size * rq->height * st->adv;
	double avail = rq->width * (1 - 2 * CAPTIONS_SAFE_SIDE);
	size_t j = i, chars = word_chars(st, rq->w[i].text), longest = chars;

	while (j + 1 <= last && j + 1 - i < (size_t)st->words &&
	    !rq->w[j].sent_end && !clause_end(rq->w[j].text) &&
	    rq->w[j + 1].start - rq->w[j].end < PAUSE_S) {
		size_t c = word_chars(st, rq->w[j + 1].text);
		size_t l = c > longest ? c : longest;

		if ((chars + 1 + c + l * (st->hi_scale - 100) / 100.0) * px > avail)
			break;
		chars += 1 + c;
		longest = l;
		j++;
	}
	return j;
}

/* Line L's times (clip time, up to word NEXT's start when there is one),
 * scale and place. */
static void
lay_out(const struct caption_req *rq, const struct style *st,
    struct line *l, size_t last)
{
	double px = st->size * rq->height * st->adv, w = 0, bh;
	double avail = rq->width * (1 - 2 * CAPTIONS_SAFE_SIDE), end;
	size_t k, longest = 0;

	end = rq->w[l->j].end + LINGER_S;
	if (l->j + 1 <= last && end > rq->w[l->j + 1].start)
		end = rq->w[l->j + 1].start;
	l->s = rq->w[l->i].start - rq->start;
	l->e = fmin(end, rq->end) - rq->start;
	for (k = l->i; k <= l->j; k++) {
		size_t c = word_chars(st, rq->w[k].text);

		w += c + (k > l->i);
		longest = c > longest ? c : longest;
	}
	w = (w + longest * (st->hi_scale - 100) / 100.0) * px;
	l->fit = w > avail ? (int)floor(100 * avail / w) : 100;
	bh = (st->size * st->hi_scale / 100.0 * l->fit / 100.0 +
	    2 * st->border) * rq->height;
	l->x = rq->width / 2;
	l->y = rq->at > 0 ? place_near(rq, l->s, l->e, bh) :
	    place(rq, l->s, l->e, bh);
}

/* One event per word of line L, the word spoken highlighted. */
static int
emit_line(struct buf *b, const struct caption_req *rq, const struct style *st,
    const struct line *l)
{
	int hs = st->hi_scale * l->fit / 100, n = 0;
	size_t k, m;

	for (k = l->i; k <= l->j; k++) {
		double s = rq->w[k].start - rq->start;
		double e = k < l->j ? rq->w[k + 1].start - rq->start : l->e;

		if (e <= s)
			e = s + 0.05;
		buf_addstr(b, "Dialogue: 0,");
		ass_time(b, s);
		buf_addstr(b, ",");
		ass_time(b, e);
		buf_printf(b, ",Cap,,0,0,0,,{\\an2\\pos(%d,%d)", l->x, l->y);
		if (l->fit != 100)
			buf_printf(b, "\\fscx%d\\fscy%d", l->fit, l->fit);
		buf_addstr(b, "}");
		for (m = l->i; m <= l->j; m++) {
			int first = m == 0 || rq->w[m - 1].sent_end;

			if (m > l->i)
				buf_addstr(b, " ");
			if (m == k && hs != 100)
				buf_printf(b, "{\\c%s&\\fscx%d\\fscy%d}", st->hi, hs, hs);
			else if (m == k)
				buf_printf(b, "{\\c%s&}", st->hi);
			add_word(b, st, rq->w[m].text, first);
			if (m == k && hs != l->fit)
				buf_printf(b, "{\\c%s&\\fscx%d\\fscy%d}", st->text,
				    l->fit, l->fit);
			else if (m == k)
				buf_printf(b, "{\\c%s&}", st->text);
		}
		buf_addstr(b, "\n");
		n++;
	}
	return n;
}

/* The script's header: the frame, and the preset as style "Cap". */
static void
header(struct buf *b, const struct caption_req *rq, const struct style *st)
{
	double h = rq->height;

	buf_printf(b, "[Script Info]\nScriptType: v4.00+\nPlayResX: %d\n"
	    "PlayResY: %d\nWrapStyle: 2\nScaledBorderAndShadow: yes\n\n"
	    "[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, "
	    "SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
	    "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
	    "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, "
	    "MarginV, Encoding\n", rq->width, rq->height);
	/* Every event has its own \pos; the margins are the safe area. */
	buf_printf(b, "Style: Cap,%s,%d,%s,%s,%s,&H80000000,%d,0,0,0,100,100,"
	    "0,0,1,%d,%d,2,%d,%d,%d,1\n\n", rq->font, (int)lround(st->size * h),
	    st->text, st->text, st->outline, st->bold ? -1 : 0,
	    (int)lround(st->border * h), (int)lround(st->shadow * h),
	    (int)lround(rq->width * CAPTIONS_SAFE_SIDE),
	    (int)lround(rq->width * CAPTIONS_SAFE_SIDE),
	    (int)lround(h * (1 - CAPTIONS_SAFE_BOTTOM)));
	buf_printf(b, "[Events]\nFormat: Layer, Start, End, Style, Name, "
	    "MarginL, MarginR, MarginV, Effect, Text\n");
}

char *
captions_ass(const struct caption_req *rq, int *none, char *err,
    size_t errlen)
{
	const struct style *st = find_style(rq->style);
	struct buf b;
	struct line l;
	size_t i, first, last;
	int events = 0;

	*none = 0;
	if (st == NULL) {
		seterr(err, errlen, "Unknown caption style \"%s\".",
		    rq->style ? rq->style : "");
		return NULL;
	}
	if (transcript_span(rq->w, rq->n, rq->start, rq->end, &first,
	    &last) != 0) {
		*none = 1;
		return NULL;
	}
	buf_init(&b, MAX_ASS);
	header(&b, rq, st);
	for (i = first; i <= last; i = l.j + 1) {
		l.i = i;
		l.j = line_last(rq, st, i, last);
		lay_out(rq, st, &l, last);
		events += emit_line(&b, rq, st, &l);
	}
	/* One check for every append above: a failure is sticky. */
	if (buf_failed(&b) || events == 0) {
		seterr(err, errlen, "The captions are too long to render.");
		buf_free(&b);
		return NULL;
	}
	return b.data;
}
