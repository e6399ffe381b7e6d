/*
 * Subtitle files (lib/subtitles.c): a table of clips over small word
 * lists, each with the exact SubRip or WebVTT text expected: timestamps
 * in clip time with a comma or a point, cue numbers, the WebVTT header,
 * lines of at most SUBTITLES_LINE characters (UTF-8 counted as
 * characters), a sentence's end closing its cue, & and < escaped in
 * WebVTT only, words outside the clip left out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "subtitles.h"
#include "tap.h"

#define W(t, s, e, end)	{ (s), (e), 1.0, (char *)(t), (end) }

static const struct word hello[] = {
	W("Before", 9.0, 9.5, 1),
	W("Hello", 10.0, 10.4, 0),
	W("world.", 10.5, 11.0, 1),
	W("Next", 11.2, 11.5, 0),
	W("one", 11.6, 12.3, 1),
	W("after", 80.0, 80.5, 1),
};

static const struct word late[] = {
	W("late", 3723.456, 3724.0, 1),
};

/* Words of 4 and 5 characters: 8 fit a line of 42, a 17th is a new cue. */
static const struct word many[] = {
	W("aaaa", 0.0, 0.2, 0), W("bbbb", 0.2, 0.4, 0), W("cccc", 0.4, 0.6, 0),
	W("dddd", 0.6, 0.8, 0), W("eeee", 0.8, 1.0, 0), W("ffff", 1.0, 1.2, 0),
	W("gggg", 1.2, 1.4, 0), W("hhhh", 1.4, 1.6, 0), W("iiiii", 1.6, 1.8, 0),
	W("jjjj", 1.8, 2.0, 0), W("kkkk", 2.0, 2.2, 0), W("llll", 2.2, 2.4, 0),
	W("mmmm", 2.4, 2.6, 0), W("nnnn", 2.6, 2.8, 0), W("oooo", 2.8, 3.0, 0),
	W("pppp", 3.0, 3.2, 0), W("qqqq", 3.2, 3.4, 1),
};

/* Accented words: 42 bytes would split them sooner than 42 characters. */
static const struct word accents[] = {
	W("été", 0, 0.3, 0), W("déjà", 0.3, 0.6, 0), W("à", 0.6, 0.9, 0),
	W("côté", 0.9, 1.2, 0), W("éèêë", 1.2, 1.5, 0), W("ïîôû", 1.5, 1.8, 0),
	W("ça", 1.8, 2.1, 0), W("où", 2.1, 2.4, 0), W("naïve", 2.4, 2.7, 0),
	W("fête", 2.7, 3.0, 1),
};

static const struct word marks[] = {
	W("Tom", 0.0, 0.3, 0), W("&", 0.3, 0.4, 0), W("<Jerry>", 0.4, 0.9, 1),
};

/* A pause of over a second starts a new cue. */
static const struct word pause[] = {
	W("one", 0.0, 0.5, 0), W("two", 2.0, 2.5, 1),
};

static const struct {
	const char		*name;
	const struct word	*w;
	size_t			 n;
	double			 start, end;
	enum subtitles_format	 fmt;
	const char		*want;
} cases[] = {
	{ "SRT: clip time, comma, numbered cues, a cue per sentence",
	  hello, 6, 10.0, 12.0, SUBTITLES_SRT,
	  "1\n00:00:00,000 --> 00:00:01,000\nHello world.\n\n"
	  "2\n00:00:01,200 --> 00:00:02,000\nNext one\n\n" },
	{ "VTT: header, point before the milliseconds",
	  hello, 6, 10.0, 12.0, SUBTITLES_VTT,
	  "WEBVTT\n\n"
	  "1\n00:00:00.000 --> 00:00:01.000\nHello world.\n\n"
	  "2\n00:00:01.200 --> 00:00:02.000\nNext one\n\n" },
	{ "minutes; words before and after the clip left out", hello, 6, 9.2,
	  100.0, SUBTITLES_SRT,
	  "1\n00:00:00,800 --> 00:00:01,800\nHello world.\n\n"
	  "2\n00:00:02,000 --> 00:00:03,100\nNext one\n\n"
	  "3\n00:01:10,800 --> 00:01:11,300\nafter\n\n" },
	{ "hours", late, 1, 0.0, 4000.0, SUBTITLES_VTT,
	  "WEBVTT\n\n1\n01:02:03.456 --> 01:02:04.000\nlate\n\n" },
	{ "two lines of at most 42 characters, then a new cue",
	  many, 17, 0.0, 10.0, SUBTITLES_SRT,
	  "1\n00:00:00,000 --> 00:00:03,200\n"
	  "aaaa bbbb cccc dddd eeee ffff gggg hhhh\n"
	  "iiiii jjjj kkkk llll mmmm nnnn oooo pppp\n\n"
	  "2\n00:00:03,200 --> 00:00:03,500\nqqqq\n\n" },
	{ "UTF-8 counted as characters", accents, 10, 0.0, 10.0,
	  SUBTITLES_VTT,
	  "WEBVTT\n\n1\n00:00:00.000 --> 00:00:03.000\n"
	  "été déjà à côté éèêë ïîôû ça où naïve fête\n\n" },
	{ "VTT escapes & < >", marks, 3, 0.0, 5.0, SUBTITLES_VTT,
	  "WEBVTT\n\n1\n00:00:00.000 --> 00:00:00.900\n"
	  "Tom &amp; &lt;Jerry&gt;\n\n" },
	{ "SRT keeps & < > as they are", marks, 3, 0.0, 5.0, SUBTITLES_SRT,
	  "1\n00:00:00,000 --> 00:00:00,900\nTom & <Jerry>\n\n" },
	{ "a long pause starts a new cue", pause, 2, 0.0, 5.0, SUBTITLES_SRT,
	  "1\n00:00:00,000 --> 00:00:00,500\none\n\n"
	  "2\n00:00:02,000 --> 00:00:02,500\ntwo\n\n" },
	{ "no word in the clip: an empty SRT", hello, 6, 30.0, 40.0,
	  SUBTITLES_SRT, "" },
	{ "no word in the clip: the VTT header alone", hello, 6, 30.0, 40.0,
	  SUBTITLES_VTT, "WEBVTT\n\n" },
};

/* A clip's edits (transcript_edited): the words the subtitles then show. */
static const struct {
	const char	*name;
	const char	*edits;
	const char	*want;
} edited[] = {
	{ "no edits: the words as they are", "{}",
	  "1\n00:00:00,000 --> 00:00:01,000\nHello world.\n\n"
	  "2\n00:00:01,200 --> 00:00:02,300\nNext one\n\n" },
	{ "a correction keeps the word's timing", "{\"words\": {\"2\": \"earth.\"}}",
	  "1\n00:00:00,000 --> 00:00:01,000\nHello earth.\n\n"
	  "2\n00:00:01,200 --> 00:00:02,300\nNext one\n\n" },
	{ "a removed word is left out", "{\"removed\": [3]}",
	  "1\n00:00:00,000 --> 00:00:01,000\nHello world.\n\n"
	  "2\n00:00:01,600 --> 00:00:02,300\none\n\n" },
	{ "a removed sentence end moves to the word before",
	  "{\"removed\": [2]}",
	  "1\n00:00:00,000 --> 00:00:00,400\nHello\n\n"
	  "2\n00:00:01,200 --> 00:00:02,300\nNext one\n\n" },
	{ "indices out of range and bad values are ignored",
	  "{\"words\": {\"99\": \"x\", \"1\": 5}, \"removed\": [99, -1, \"2\"]}",
	  "1\n00:00:00,000 --> 00:00:01,000\nHello world.\n\n"
	  "2\n00:00:01,200 --> 00:00:02,300\nNext one\n\n" },
};

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(edited) / sizeof(edited[0]); i++) {
		json_t *e = json_loads(edited[i].edits, 0, NULL);
		struct word *w;
		size_t n;
		char *got;
		int good;

		w = transcript_edited(hello, 6, e, &n);
		got = w != NULL ? subtitles_make(w, n, 10.0, 20.0,
		    SUBTITLES_SRT) : NULL;
		good = got != NULL && strcmp(got, edited[i].want) == 0;
		ok(good, "edited: %s", edited[i].name);
		if (!good)
			printf("# got:\n%s# want:\n%s", got ? got : "(NULL)",
			    edited[i].want);
		free(got);
		free(w);
		json_decref(e);
	}

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = subtitles_make(cases[i].w, cases[i].n,
		    cases[i].start, cases[i].end, cases[i].fmt);
		int good = got != NULL && strcmp(got, cases[i].want) == 0;

		ok(good, "%s", cases[i].name);
		if (!good)
			printf("# got:\n%s# want:\n%s", got ? got : "(NULL)",
			    cases[i].want);
		free(got);
	}
	return tap_done();
}
