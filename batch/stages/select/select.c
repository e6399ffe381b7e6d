/*
 * The select stage: one task per job.  Reads the transcript and loudness,
 * chooses clips with the heuristic scorer or the LLM (falling back to the
 * heuristic, with an event, when the LLM fails); when there is no speech,
 * starts them at scene changes, or spaces them evenly.  done() stores one
 * clips row per clip per requested aspect and adds the job's one frame
 * task.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "jobspec.h"
#include "keys.h"
#include "log.h"
#include "media/probe.h"
#include "media/render.h"
#include "select.h"
#include "runner/stage.h"
#include "util.h"

/* the clips asked for, or the candidates offered for review */
#define MAX_PICKS JOBSPEC_CANDIDATES_MAX

static void
fallback(struct task_ctx *ctx, const char *msg, const char *why)
{
	json_t *d = why ? json_pack("{ss}", "error", why) : NULL;

	task_event(ctx, "fallback", msg, d);
	json_decref(d);
}

static int
scan_progress(void *arg, int pct)
{
	return task_progress(arg, pct, "finding scene changes");
}

/*
 * Picks for a video without speech, into PICKS: clips that start at its
 * scene changes (topped up with evenly spaced ones when there are too few
 * cuts), else evenly spaced; an event says which.  Returns how many, with
 * *USED the backend, or -1 with *RC when the task must stop (cancelled) or
 * be retried (the store failed).
 */
static int
no_speech(struct task_ctx *ctx, const struct select_req *rq,
    struct pick *picks, const char **used, enum stage_rc *rc, char *err,
    size_t errlen)
{
	const struct task *tk = ctx->task;
	struct scenes sc;
	struct pick even[MAX_PICKS];
	char *src = NULL, serr[256] = "";
	const char *msg, *reason = NULL;
	size_t ncuts = 0, n = 0, ne, i;
	long long t_ms = now_ms();
	int r = -1;
	json_t *d;

	memset(&sc, 0, sizeof(sc));
	if (stage_input(ctx, json_string_value(json_object_get(tk->job,
	    "source_key")), "source", &src, serr, sizeof(serr)) ==
	    STAGE_TRANSIENT) {
		seterr(err, errlen, "%s", serr);
		*rc = STAGE_TRANSIENT;
		return -1;
	}
	if (src != NULL) {
		r = scenes_sample(src, probe_job_format(tk->job), &sc,
		    scan_progress, ctx, serr, sizeof(serr));
		free(src);
	}
	if (r == 1) {
		*rc = STAGE_CANCELLED;
		return -1;
	}
	if (r == 0) {
		n = select_scenes(&sc, rq, picks, &ncuts);
		log_ev(LOG_INFO, "scenes_done", "{sIsisisbsI}", "job", tk->job_id,
		    "samples", (int)sc.n, "cuts", (int)ncuts, "keyframes_only",
		    sc.keyframes_only, "ms", now_ms() - t_ms);
	}
	ne = select_evenly(rq, even);
	if (n > 0) {
		/* Too few cuts for the clips asked: fill in evenly where
		 * nothing was chosen. */
		for (i = 0; i < ne && n < (size_t)rq->clips; i++) {
			if (select_overlaps(picks, n, even[i].start, even[i].end))
				continue;
			picks[n] = even[i];
			xsnprintf(picks[n].reason, sizeof(picks[n].reason),
			    "Evenly spaced: no speech and too few scene changes.");
			n++;
		}
		*used = "scenes";
		msg = "No speech was found, so clips start at scene changes and "
		    "have no captions.";
	} else {
		memcpy(picks, even, ne * sizeof(even[0]));
		n = ne;
		*used = "even";
		if (r != 0)
			msg = "No speech was found, so clips are spaced evenly and "
			    "have no captions.";
		else if (ncuts == 0) {
			msg = "No speech was found and the video has no scene "
			    "changes, so clips are spaced evenly and have no "
			    "captions.";
			reason = "Evenly spaced: no speech and no scene changes.";
		} else {
			msg = "No speech was found and no clip fits between the "
			    "video's scene changes, so clips are spaced evenly and "
			    "have no captions.";
			reason = "Evenly spaced: no speech, and no clip fits at a "
			    "scene change.";
		}
		for (i = 0; reason != NULL && i < n; i++)
			xsnprintf(picks[i].reason, sizeof(picks[i].reason), "%s",
			    reason);
	}
	d = r != 0 ? json_pack("{ss}", "error", serr) : json_pack("{sisb}",
	    "scene_changes", (int)ncuts, "keyframes_only", sc.keyframes_only);
	task_event(ctx, "fallback", msg, d);
	json_decref(d);
	scenes_free(&sc);
	return (int)n;
}

/* Job options with their defaults and bounds; 0 or -1 with ERR. */
static int
options(const struct task *tk, struct select_req *rq, json_t **aspects,
    const char **backend, int *captions, char *err, size_t errlen)
{
	json_t *o = json_object_get(tk->job, "options"), *a, *v;
	double mn = (double)cfg.clip_min, mx = (double)cfg.clip_max;
	json_int_t n = cfg.clips_default;
	size_t i;
	int w, h, review = 0;

	*backend = cfg.select_backend;
	*captions = 1;
	if (o != NULL && json_unpack(o, "{s?Is?Fs?Fs?ss?bs?b}", "clips", &n,
	    "min_len", &mn, "max_len", &mx, "select_backend", backend,
	    "captions", captions, "review", &review) != 0) {
		seterr(err, errlen, "The job's options are not valid.");
		return -1;
	}
	if (n < 1 || n > JOBSPEC_CLIPS_MAX || !(mn >= 1 && mx <= JOBSPEC_LEN_MAX &&
	    mn <= mx)) {
		seterr(err, errlen, "The job asks for 1 to %d clips of 1 to %d "
		    "seconds, with the shortest no longer than the longest.",
		    JOBSPEC_CLIPS_MAX, JOBSPEC_LEN_MAX);
		return -1;
	}
	if (strcmp(*backend, "heuristic") != 0 && strcmp(*backend, "llm") != 0)
		*backend = cfg.select_backend;
	rq->clips = review ? jobspec_candidates(n) : (int)n;
	rq->min_len = mn;
	rq->max_len = mx;
	*aspects = json_array();
	a = json_object_get(o, "aspects");
	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v);
		size_t k;
		int dup = 0;

		if (s == NULL || render_size(s, &w, &h) != 0) {
			seterr(err, errlen, "Unknown aspect; use 9:16, 1:1 or 4:5.");
			json_decref(*aspects);
			return -1;
		}
		for (k = 0; k < json_array_size(*aspects); k++)
			dup |= strcmp(json_string_value(json_array_get(*aspects, k)), s) == 0;
		if (!dup)
			json_array_append_new(*aspects, json_string(s));
	}
	if (json_array_size(*aspects) == 0)
		json_array_append_new(*aspects, json_string("9:16"));
	return 0;
}

/* What P's score is made of: [{"what", "points", "max"}...], points to a
 * tenth. */
static json_t *
parts_json(const struct pick *p)
{
	json_t *a = json_array();
	int i;

	for (i = 0; i < p->nparts; i++)
		json_array_append_new(a, json_pack("{sssfsf}", "what",
		    p->part[i].what, "points", round(p->part[i].points * 10) /
		    10, "max", p->part[i].max));
	return a;
}

static enum stage_rc
select_run(struct task_ctx *ctx, json_t **result, char *err, size_t errlen)
{
	const struct task *tk = ctx->task;
	struct select_req rq;
	struct transcript t;
	struct pick picks[MAX_PICKS] = { 0 };
	json_t *aspects = NULL, *clips;
	const char *backend, *used, *tkey_p;
	char tkey[128], lkey[128], *tpath = NULL, *lpath = NULL, terr[256];
	char lerr[256];
	int captions, have_t = 0, n = 0, i;
	double pdur = json_number_value(json_object_get(json_object_get(tk->job,
	    "probe"), "duration"));

	memset(&t, 0, sizeof(t));
	memset(picks, 0, sizeof(picks));
	if (options(tk, &rq, &aspects, &backend, &captions, err, errlen) != 0)
		return STAGE_PERMANENT;
	tkey_p = json_string_value(json_object_get(tk->payload, "transcript_key"));
	if (tkey_p != NULL)
		xsnprintf(tkey, sizeof(tkey), "%s", tkey_p);
	else
		key_job_transcript(tkey, sizeof(tkey), tk->job_id);
	key_job_loudness(lkey, sizeof(lkey), tk->job_id);

	if (stage_input(ctx, tkey, "transcript.json", &tpath, terr,
	    sizeof(terr)) == STAGE_TRANSIENT) {
		seterr(err, errlen, "%s", terr);
		json_decref(aspects);
		return STAGE_TRANSIENT;
	}
	/* Loudness is a bonus: without it the scorer uses the words alone. */
	stage_input(ctx, lkey, "loudness.json", &lpath, lerr, sizeof(lerr));
	if (tpath != NULL) {
		if (transcript_load(tpath, lpath, &t, terr, sizeof(terr)) == 0 ||
		    (lpath != NULL && transcript_load(tpath, NULL, &t, terr,
		    sizeof(terr)) == 0))
			have_t = 1;
	}
	rq.duration = have_t && t.duration > 0 ? t.duration : pdur;
	if (!(rq.duration > 0)) {
		seterr(err, errlen, "The video's duration is unknown, so no clips "
		    "can be chosen.");
		json_decref(aspects);
		transcript_free(&t);
		free(tpath);
		free(lpath);
		return STAGE_PERMANENT;
	}
	if (!have_t)
		fallback(ctx, "The transcript could not be read, so clips are "
		    "spaced evenly and have no captions.", terr);

	used = backend;
	if (have_t && !t.no_audio && t.nw > 0) {
		if (strcmp(backend, "llm") == 0) {
			n = select_llm(&t, &rq, picks, terr, sizeof(terr));
			if (n < 1) {
				fallback(ctx, "The language model could not choose "
				    "clips, so the built-in scorer chose them.", terr);
				n = 0;
			}
		}
		if (n == 0) {
			used = "heuristic";
			n = (int)select_heuristic(&t, &rq, picks);
			if (n == 0)
				fallback(ctx, "No stretch of speech fits the length "
				    "range, so clips are spaced evenly.", NULL);
		}
	} else if (have_t) {
		enum stage_rc rc = STAGE_PERMANENT;

		captions = 0;
		if ((n = no_speech(ctx, &rq, picks, &used, &rc, err,
		    errlen)) < 0) {
			json_decref(aspects);
			transcript_free(&t);
			free(tpath);
			free(lpath);
			return rc;
		}
	}
	if (n == 0) {
		used = "even";
		captions = captions && have_t && t.nw > 0;
		if (!have_t || t.no_audio || t.nw == 0)
			captions = 0;
		n = (int)select_evenly(&rq, picks);
	}
	clips = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(clips, json_pack("{sisfsfsfssssso}", "rank",
		    i + 1, "start", picks[i].start, "end", picks[i].end, "score",
		    picks[i].score, "title", picks[i].title, "reason",
		    picks[i].reason, "score_parts", parts_json(&picks[i])));
	*result = json_pack("{sssososbss}", "backend", used, "clips", clips,
	    "aspects", aspects, "captions", captions, "transcript_key", tkey);
	log_ev(LOG_INFO, "select_done", "{sIsssi}", "job", tk->job_id,
	    "backend", used, "clips", n);
	transcript_free(&t);
	free(tpath);
	free(lpath);
	return STAGE_OK;
}

static int
select_done(PGconn *c, const struct task *tk, json_t *res, char *err,
    size_t errlen)
{
	json_t *clips = json_object_get(res, "clips"), *aspects, *cl, *asp;
	json_t *fclips = json_array(), *payload;
	const char *backend = json_string_value(json_object_get(res, "backend"));
	size_t i, k;
	int rc = -1;

	aspects = json_object_get(res, "aspects");
	json_array_foreach(clips, i, cl) {
		json_array_foreach(aspects, k, asp) {
			struct db_params dp = { 0 };
			char s[32], e[32], sc[32];
			const char *p[10];
			char *parts;
			PGresult *r;

			xsnprintf(s, sizeof(s), "%.3f", json_number_value(
			    json_object_get(cl, "start")));
			xsnprintf(e, sizeof(e), "%.3f", json_number_value(
			    json_object_get(cl, "end")));
			xsnprintf(sc, sizeof(sc), "%.1f", json_number_value(
			    json_object_get(cl, "score")));
			p[0] = db_param_ll(&dp, tk->job_id);
			p[1] = db_param_ll(&dp, json_integer_value(
			    json_object_get(cl, "rank")));
			p[2] = json_string_value(asp);
			p[3] = s;
			p[4] = e;
			p[5] = sc;
			p[6] = json_string_value(json_object_get(cl, "title"));
			p[7] = json_string_value(json_object_get(cl, "reason"));
			p[8] = backend;
			p[9] = parts = json_dumps(json_object_get(cl,
			    "score_parts"), JSON_COMPACT | JSON_ENCODE_ANY);
			r = db_exec(c, err, errlen, "INSERT INTO clips (job_id, "
			    "rank, aspect, start_s, end_s, score, title, reason, "
			    "backend, score_parts) VALUES ($1, $2, $3, $4, $5, $6,"
			    " $7, $8, $9, $10) RETURNING id", 10, p);
			free(parts);
			if (r == NULL)
				goto out;
			json_array_append_new(fclips, json_pack("{sIsOsOsOsO}",
			    "id", (json_int_t)strtoll(PQgetvalue(r, 0, 0), NULL, 10),
			    "rank", json_object_get(cl, "rank"), "start",
			    json_object_get(cl, "start"), "end",
			    json_object_get(cl, "end"), "aspect", asp));
			PQclear(r);
		}
	}
	if (json_array_size(fclips) == 0) {
		seterr(err, errlen, "No clips were chosen.");
		goto out;
	}
	payload = json_pack("{sOsOsOsb}", "clips", fclips, "captions",
	    json_object_get(res, "captions"), "transcript_key",
	    json_object_get(res, "transcript_key"), "review",
	    json_is_true(json_object_get(json_object_get(tk->job, "options"),
	    "review")));
	if (payload == NULL) {
		seterr(err, errlen, "The select result is incomplete.");
		goto out;
	}
	rc = queue_add_task(c, tk->job_id, 0, "frame", payload, err, errlen);
	json_decref(payload);
	if (rc == 0)
		rc = queue_notify_stage(c, "frame", err, errlen);
out:
	json_decref(fclips);
	return rc;
}

const struct stage stage_select = {
	.name = "select",
	.isolated = 1,
	.batch = 1,
	.cap = &cfg.cap_select,
	.run = select_run,
	.done = select_done,
};
