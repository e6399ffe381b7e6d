// The OpenAPI document against a running instance (tests/t_openapi.sh).
//
//   node openapi_check.js CONTEXT.json
//
// CONTEXT: {base, doc (the repository's fcgi/openapi.json), alice, bob,
// carol (API keys), metricsToken, video (a short talk to upload), runner
// (argv of one clipmill-batch run), bigBody (bytes over the body cap)}.
//
// The document itself is checked with @seriousme/openapi-schema-validator
// (OpenAPI 3.1's own schema); each answer of the instance with Ajv's
// JSON Schema 2020-12 (3.1's schema dialect) against the schema the
// document gives for its path, method, status and media type, together
// with the headers the document names for it.  Every documented
// path + method + status must be provoked at least once, but those listed
// in NOT_PROVOKED with the reason; a documented one never seen is a
// "not ok", and so is an answer with a status the document does not list.
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const nm = path.join(__dirname, '..', 'contrib', 'node_modules');
const { Validator } = require(path.join(nm, '@seriousme', 'openapi-schema-validator'));
const Ajv2020 = require(path.join(nm, 'ajv', 'dist', '2020')).default;
const addFormats = require(path.join(nm, 'ajv-formats'));

const ctx = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const docBytes = fs.readFileSync(ctx.doc);
const doc = JSON.parse(docBytes.toString('utf8'));
let fails = 0;
function ok(good, name, detail) {
	if (good) console.log('ok ' + name);
	else {
		fails++;
		console.log('not ok ' + name + (detail ? ': ' + detail : ''));
	}
	return good;
}

// Statuses no test here can provoke without breaking the instance it
// runs on; each says why.  Everything else documented must be seen.
const NOT_PROVOKED = [
	[/./, /./, /^500$/, 'an internal error (out of memory, a bug)'],
	[/./, /./, /^503$/, 'the database or the store down (t_web_pgdown, t_web_faults)'],
	['/jobs', 'post', /^507$/, 'the scratch disk full (t_web_faults)'],
	[/^\/clips\/\{id\}\/(video|thumbnail)$/, 'get', /^302$/, 'an S3 store without a public URL (t_s3)'],
	['/metrics', 'get', /^403$/, 'metrics_token unset, and this instance has one'],
];
// Paths that answer any method as GET (no 405), as the document says.
const NO_405 = { '/healthz': 'answers any method', '/metrics': 'answers any method' };
function notProvoked(p, m, s) {
	const test = (pat, v) => typeof pat === 'string' ? pat === v : pat.test(v);
	return NOT_PROVOKED.find(([pp, mm, ss]) => test(pp, p) && test(mm, m) && test(ss, s));
}

// ---- the validators ----
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
// The components' schemas as one schema of $defs; the document's
// "#/components/schemas/X" references point there.
function rewriteRefs(s) {
	if (Array.isArray(s)) return s.map(rewriteRefs);
	if (s === null || typeof s !== 'object') return s;
	const o = {};
	for (const [k, v] of Object.entries(s))
		o[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/') ?
		    'doc.json#/$defs/' + v.slice('#/components/schemas/'.length) : rewriteRefs(v);
	return o;
}
ajv.addSchema({ $id: 'doc.json', $defs: rewriteRefs(doc.components.schemas) });
const compiled = new Map();
function validatorFor(schema) {
	const key = JSON.stringify(schema);
	if (!compiled.has(key)) compiled.set(key, ajv.compile(rewriteRefs(schema)));
	return compiled.get(key);
}
function deref(o) {
	while (o && o.$ref) {
		const parts = o.$ref.replace(/^#\//, '').split('/');
		o = parts.reduce((a, k) => a[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
	}
	return o;
}

// The documented path template of a concrete path.
const templates = Object.keys(doc.paths);
function templateOf(p) {
	for (const t of templates) {
		const re = new RegExp('^' + t.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+') + '$');
		if (re.test(p)) return t;
	}
	return null;
}

const seen = new Set();	// "template method status", validated
const called = new Set();	// "template method"

// Check one answer against the document; returns the parsed body.
function validate(name, method, p, res, text) {
	const t = templateOf(p.split('?')[0]);
	const m = method.toLowerCase();
	const status = String(res.status);
	if (!ok(t !== null, name + ': ' + p + ' is documented')) return null;
	called.add(t + ' ' + m);
	const opn = doc.paths[t][m];
	if (!ok(opn !== undefined, name + ': ' + method + ' ' + t + ' is documented')) return null;
	const r = deref(opn.responses[status]);
	if (!ok(r !== undefined, name + ': status ' + status + ' of ' + method + ' ' + t + ' is documented',
	    text.slice(0, 300))) return null;
	let good = true, why = '';
	for (const h of Object.keys(r.headers || {}))
		if (!res.headers.has(h)) { good = false; why += 'no ' + h + ' header; '; }
	const ctype = (res.headers.get('content-type') || '').split(';')[0].trim();
	let body = null;
	if (!r.content) {
		if (text.length > 0 && res.status !== 302) { good = false; why += 'a body where none is documented; '; }
	} else if (!r.content[ctype]) {
		good = false;
		why += 'Content-Type ' + ctype + ' is not one of ' + Object.keys(r.content).join(', ') + '; ';
	} else if (ctype === 'application/json') {
		try { body = JSON.parse(text); } catch (e) { good = false; why += 'not JSON: ' + e.message + '; '; }
		if (body !== null) {
			const v = validatorFor(r.content[ctype].schema);
			if (!v(body)) { good = false; why += ajv.errorsText(v.errors) + '; '; }
		}
	} else {
		const v = validatorFor(r.content[ctype].schema);
		if (!v(text)) { good = false; why += ajv.errorsText(v.errors) + '; '; }
	}
	if (ok(good, name + ': ' + method + ' ' + t + ' ' + status + ' matches the document', why + text.slice(0, 200)))
		seen.add(t + ' ' + m + ' ' + status);
	return body;
}

// ---- HTTP ----
// call(NAME, METHOD, PATH, {key, cookie, json, form, multipart, body,
// ctype, headers}, EXPECT): the answer, checked to be EXPECT and validated.
async function call(name, method, p, o, expect) {
	const headers = Object.assign({ Accept: 'application/json' }, o.headers || {});
	if (o.key) headers.Authorization = 'Bearer ' + o.key;
	if (o.cookie) headers.Cookie = o.cookie;
	let body = o.body;
	if (o.json !== undefined) { body = JSON.stringify(o.json); headers['Content-Type'] = 'application/json'; }
	if (o.form !== undefined) { body = new URLSearchParams(o.form).toString(); headers['Content-Type'] = 'application/x-www-form-urlencoded'; }
	if (o.multipart !== undefined) body = o.multipart;
	if (o.ctype) headers['Content-Type'] = o.ctype;
	// A JSON body the server takes must be one the document allows.
	const rb = templateOf(p.split('?')[0]) && (doc.paths[templateOf(p.split('?')[0])][method.toLowerCase()] || {}).requestBody;
	if (o.json !== undefined && expect < 300 && rb && rb.content['application/json']) {
		const v = validatorFor(rb.content['application/json'].schema);
		ok(v(o.json), name + ': the request body is one the document allows', ajv.errorsText(v.errors));
	}
	const res = await fetch(ctx.base + p, { method, headers, body, redirect: 'manual' });
	const buf = Buffer.from(await res.arrayBuffer());
	const text = buf.toString('utf8');
	ok(res.status === expect, name + ': ' + method + ' ' + p + ' answers ' + expect,
	    'got ' + res.status + ' ' + text.slice(0, 300));
	const j = validate(name, method, p, res, text);
	return { status: res.status, headers: res.headers, text, buf, json: j };
}

function runRunnersOnce() {
	try {
		execFileSync(ctx.runner[0], ctx.runner.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] });
	} catch (e) { /* a runner's failure shows in the job's state */ }
}

// Run the stages until job ID's state is in STATES; the job.
async function runUntil(id, states) {
	for (let i = 0; i < 200; i++) {
		const r = await fetch(ctx.base + '/jobs/' + id, { headers: { Accept: 'application/json', Authorization: 'Bearer ' + ctx.alice } });
		const j = await r.json();
		if (states.includes(j.state) || !['pending', 'running'].includes(j.state))
			return j;
		runRunnersOnce();
	}
	return null;
}

// A session of alice's: the cookie and the form's CSRF token.
async function login() {
	let r = await fetch(ctx.base + '/login', { headers: { Accept: 'text/html' } });
	const nonce = r.headers.getSetCookie().map(c => c.split(';')[0]).join('; ');
	const tok = /name="csrf" value="([0-9a-f]+)"/.exec(await r.text())[1];
	r = await fetch(ctx.base + '/login', { method: 'POST', redirect: 'manual',
	    headers: { Accept: 'text/html', Cookie: nonce, 'Content-Type': 'application/x-www-form-urlencoded' },
	    body: new URLSearchParams({ key: ctx.alice, csrf: tok }).toString() });
	const cookie = r.headers.getSetCookie().map(c => c.split(';')[0]).filter(c => /session=/.test(c)).join('; ');
	r = await fetch(ctx.base + '/', { headers: { Accept: 'text/html', Cookie: cookie } });
	const csrf = /name="csrf" value="([0-9a-f]+)"/.exec(await r.text())[1];
	return { cookie, csrf };
}

async function main() {
	// ---- the document ----
	const res = await new Validator().validate(doc);
	ok(res.valid, 'the document is valid OpenAPI ' + doc.openapi, JSON.stringify(res.errors || '').slice(0, 1000));
	const A = { key: ctx.alice }, B = { key: ctx.bob }, C = { key: ctx.carol };

	// ---- service ----
	let r = await call('openapi', 'GET', '/openapi.json', {}, 200);
	ok(Buffer.compare(r.buf, docBytes) === 0, 'openapi: the served document is the repository\'s, byte for byte');
	ok(r.headers.get('content-type') === 'application/json', 'openapi: Content-Type application/json', r.headers.get('content-type'));
	ok(/public/.test(r.headers.get('cache-control') || '') && /max-age=\d+/.test(r.headers.get('cache-control') || ''),
	    'openapi: cached publicly for a while', r.headers.get('cache-control'));
	ok((r.headers.get('cache-control') || '').split(',').length === 2, 'openapi: one Cache-Control');
	const etag = r.headers.get('etag');
	await call('openapi revalidated', 'GET', '/openapi.json', { headers: { 'If-None-Match': etag } }, 304);
	await call('openapi, another ETag', 'GET', '/openapi.json', { headers: { 'If-None-Match': '"x"' } }, 200);
	await call('healthz', 'GET', '/healthz', {}, 200);
	await call('metrics without the token', 'GET', '/metrics', {}, 401);
	await call('metrics', 'GET', '/metrics', { headers: { Authorization: 'Bearer ' + ctx.metricsToken } }, 200);

	// ---- keys ----
	await call('no key', 'GET', '/jobs', {}, 401);
	await call('a wrong key', 'GET', '/jobs', { key: 'cm_0000' }, 401);
	const s = await login();
	ok(s.cookie !== '' && s.csrf.length === 64, 'a browser session of alice\'s');
	const S = { cookie: s.cookie };

	// ---- a real job: uploaded, reviewed, rendered ----
	const fd = () => {
		const f = new FormData();
		f.append('clips', '1');
		f.append('file', new Blob([fs.readFileSync(ctx.video)], { type: 'video/mp4' }), 'talk.mp4');
		return f;
	};
	const f1 = fd();
	f1.append('review', 'on');
	r = await call('submit an upload for review', 'POST', '/jobs', { key: ctx.alice, multipart: f1 }, 201);
	let review = r.status === 201;
	if (!review) {
		console.log('# the server refused "review"; the job is submitted without it, and the review routes will fail');
		r = await call('submit an upload', 'POST', '/jobs', { key: ctx.alice, multipart: fd() }, 201);
	}
	ok(/^\/jobs\/\d+$/.test(r.headers.get('location') || ''), 'submit: Location names the job');
	const J = r.json && r.json.id;
	let job = await runUntil(J, review ? ['awaiting_review', 'done', 'partial', 'failed'] : ['done', 'partial', 'failed']);
	ok(job !== null && job.state === (review ? 'awaiting_review' : 'done'), 'the job reaches ' + (review ? 'awaiting_review' : 'done'),
	    job ? job.state + ' ' + (job.error || '') : 'never');
	r = await call('job', 'GET', '/jobs/' + J, A, 200);
	job = r.json || { clips: [] };
	const tr = await call('transcript', 'GET', '/jobs/' + J + '/transcript', A, 200);
	const words = (tr.json && tr.json.words) || [];
	const c1 = job.clips[0] || { id: 0, start: 0, end: 0 };
	const c2 = job.clips.find(c => c.id !== c1.id && (!review || c.state === 'candidate'));
	const wi = words.findIndex(w => w.start >= c1.start && w.end <= c1.end);
	ok(wi >= 0, 'a word inside the first clip', JSON.stringify(c1).slice(0, 200));
	const edit = { title: 'An edited title' };
	if (wi >= 0) edit.words = { [String(wi)]: 'corrected' };
	r = await call('edit a clip', 'PATCH', '/clips/' + c1.id, { key: ctx.alice, json: edit }, 200);
	ok(r.json !== null && r.json.title === 'An edited title', 'edit: the clip answered carries the title');
	r = await call('edit: empty title', 'PATCH', '/clips/' + c1.id, { key: ctx.alice, json: { title: '' } }, 400);
	ok(r.json && r.json.field === 'title', 'edit: 400 names title');
	await call('edit: bob', 'PATCH', '/clips/' + c1.id, { key: ctx.bob, json: edit }, 404);
	await call('edit: session without CSRF', 'PATCH', '/clips/' + c1.id, { cookie: s.cookie, json: edit }, 403);
	await call('render: bob', 'POST', '/jobs/' + J + '/render', { key: ctx.bob, json: { clips: [c1.id] } }, 404);
	await call('render: session without CSRF', 'POST', '/jobs/' + J + '/render', { cookie: s.cookie, json: { clips: [c1.id] } }, 403);
	r = await call('render: not a clip of the job', 'POST', '/jobs/' + J + '/render', { key: ctx.alice, json: { clips: [999999999] } }, 400);
	ok(r.json && r.json.field === 'clips', 'render: 400 names clips');
	r = await call('render the chosen clip', 'POST', '/jobs/' + J + '/render', { key: ctx.alice, json: { clips: [c1.id] } }, 202);
	ok(r.json && r.json.job === J && r.json.clips.includes(c1.id), 'render: answers the job and the clip');
	await call('render it again while pending', 'POST', '/jobs/' + J + '/render', { key: ctx.alice, json: { clips: [c1.id] } }, 409);
	await call('render the clip while pending', 'POST', '/clips/' + c1.id + '/render', A, 409);
	await call('edit while pending', 'PATCH', '/clips/' + c1.id, { key: ctx.alice, json: edit }, 409);
	await call('render a clip: bob', 'POST', '/clips/' + c1.id + '/render', B, 404);
	await call('render a clip: session without CSRF', 'POST', '/clips/' + c1.id + '/render', S, 403);
	job = await runUntil(J, ['done', 'partial', 'failed']);
	ok(job !== null && job.state === 'done', 'the job is done', job ? job.state + ' ' + (job.error || '') : 'never');
	r = await call('job, done', 'GET', '/jobs/' + J, A, 200);
	const jetag = r.headers.get('etag') || '';
	ok(/^W\/"/.test(jetag) && /private/.test(r.headers.get('cache-control') || ''), 'job: a weak ETag, kept privately', jetag);
	await call('job: not changed', 'GET', '/jobs/' + J, { key: ctx.alice, headers: { 'If-None-Match': jetag } }, 304);
	await call('job: bob with alice\'s ETag', 'GET', '/jobs/' + J, { key: ctx.bob, headers: { 'If-None-Match': jetag } }, 404);
	const ready = ((r.json && r.json.clips) || []).find(c => c.state === 'ready') || { id: 0 };
	await call('video', 'GET', '/clips/' + ready.id + '/video', A, 200);
	await call('thumbnail', 'GET', '/clips/' + ready.id + '/thumbnail', A, 200);
	r = await call('subtitles, SubRip', 'GET', '/clips/' + ready.id + '/subtitles.srt', A, 200);
	ok(/-->/.test(r.text), 'SubRip: cues');
	r = await call('subtitles, WebVTT', 'GET', '/clips/' + ready.id + '/subtitles.vtt', A, 200);
	ok(/^WEBVTT/.test(r.text), 'WebVTT: the header');
	await call('video: bob', 'GET', '/clips/' + ready.id + '/video', B, 404);
	await call('thumbnail: bob', 'GET', '/clips/' + ready.id + '/thumbnail', B, 404);
	await call('SubRip: bob', 'GET', '/clips/' + ready.id + '/subtitles.srt', B, 404);
	await call('WebVTT: bob', 'GET', '/clips/' + ready.id + '/subtitles.vtt', B, 404);
	await call('transcript: bob', 'GET', '/jobs/' + J + '/transcript', B, 404);
	await call('job: bob', 'GET', '/jobs/' + J, B, 404);
	await call('job: none', 'GET', '/jobs/999999999', A, 404);
	// a render reopens the done job: refused while alice is at
	// user_max_jobs (no runner runs here, so her URL jobs stay pending)
	const fill = [];
	for (let i = 0; i < ctx.maxJobs; i++) {
		r = await call('alice fills her jobs ' + (i + 1), 'POST', '/jobs', { key: ctx.alice, json: { url: 'https://example.com/f' + i } }, 201);
		fill.push(r.json && r.json.id);
	}
	await call('render a clip: over user_max_jobs', 'POST', '/clips/' + c1.id + '/render', A, 429);
	await call('render: over user_max_jobs', 'POST', '/jobs/' + J + '/render', { key: ctx.alice, json: { clips: [c1.id] } }, 429);
	for (const f of fill)
		await call('alice cancels ' + f, 'POST', '/jobs/' + f + '/cancel', A, 200);
	if (c2)
		await call('render another candidate', 'POST', '/clips/' + c2.id + '/render', A, 202);
	else
		ok(false, 'a second clip to render', 'the job has ' + job.clips.length + ' clips');

	// ---- jobs ----
	r = await call('submit JSON', 'POST', '/jobs', { key: ctx.alice, json: { url: 'https://example.com/talk.mp4', clips: 2, aspects: ['9:16', '1:1'], captions: false, caption_style: 'minimal', layout: 'fit' } }, 201);
	const K = r.json && r.json.id;
	r = await call('submit: clips out of range', 'POST', '/jobs', { key: ctx.alice, json: { url: 'https://x.org/v', clips: 11 } }, 400);
	ok(r.json && r.json.field === 'clips', 'submit: 400 names clips');
	await call('submit: text/plain', 'POST', '/jobs', { key: ctx.alice, body: 'hello', ctype: 'text/plain' }, 415);
	await call('submit: a body over the cap', 'POST', '/jobs', { key: ctx.alice, body: 'x'.repeat(ctx.bigBody), ctype: 'application/json' }, 413);
	await call('submit: session without CSRF', 'POST', '/jobs', { cookie: s.cookie, form: { url: 'https://x.org/v' } }, 403);
	for (let i = 0; i < ctx.maxJobs; i++)
		await call('carol submits ' + (i + 1), 'POST', '/jobs', { key: ctx.carol, json: { url: 'https://example.com/' + i } }, 201);
	await call('carol: one job too many', 'POST', '/jobs', { key: ctx.carol, json: { url: 'https://example.com/x' } }, 429);
	r = await call('jobs', 'GET', '/jobs', A, 200);
	ok(r.json && r.json.jobs.some(j => j.id === K), 'jobs: lists the new job');
	r = await call('jobs: page 0', 'GET', '/jobs?page=0', A, 400);
	ok(r.json && r.json.field === 'page', 'jobs: 400 names page');
	await call('events', 'GET', '/jobs/' + K + '/events?after=0&timeout=0', A, 200);
	r = await call('events: after -1', 'GET', '/jobs/' + K + '/events?after=-1', A, 400);
	ok(r.json && r.json.field === 'after', 'events: 400 names after');
	await call('events: bob', 'GET', '/jobs/' + K + '/events?timeout=0', B, 404);
	// One long-poll parked (the instance allows one a user), a second
	// refused; cancelling the job answers the first.
	r = await fetch(ctx.base + '/jobs/' + K, { headers: { Accept: 'application/json', Authorization: 'Bearer ' + ctx.alice } });
	const seq = (await r.json()).last_seq;
	const parked = call('events: parked', 'GET', '/jobs/' + K + '/events?after=' + seq + '&timeout=60', A, 200);
	for (let i = 0; i < 600; i++) {
		const h = await (await fetch(ctx.base + '/healthz')).json();
		if (h.waiting_longpolls >= 1) break;
		await new Promise(res => setTimeout(res, 50));
	}
	await call('events: a second long-poll', 'GET', '/jobs/' + K + '/events?after=' + seq + '&timeout=60', A, 429);
	await call('cancel: bob', 'POST', '/jobs/' + K + '/cancel', B, 404);
	await call('cancel: session without CSRF', 'POST', '/jobs/' + K + '/cancel', S, 403);
	r = await call('cancel', 'POST', '/jobs/' + K + '/cancel', A, 200);
	ok(r.json && r.json.state === 'cancelled', 'cancel: cancelled');
	r = await parked;
	ok(r.json && r.json.state === 'cancelled', 'events: the parked long-poll answers with the end');
	await call('cancel again', 'POST', '/jobs/' + K + '/cancel', A, 409);
	await call('transcript: none yet', 'GET', '/jobs/' + K + '/transcript', A, 404);
	await call('retry: bob', 'POST', '/jobs/' + K + '/retry', B, 404);
	await call('retry: session without CSRF', 'POST', '/jobs/' + K + '/retry', S, 403);
	r = await call('retry', 'POST', '/jobs/' + K + '/retry', A, 200);
	ok(r.json && r.json.state === 'running', 'retry: running');
	await call('retry a running job', 'POST', '/jobs/' + K + '/retry', A, 409);
	// carol: at user_max_jobs; one cancelled and retried is one too many
	r = await fetch(ctx.base + '/jobs', { headers: { Accept: 'application/json', Authorization: 'Bearer ' + ctx.carol } });
	const cj = (await r.json()).jobs[0].id;
	await call('carol cancels one', 'POST', '/jobs/' + cj + '/cancel', C, 200);
	await call('carol submits again', 'POST', '/jobs', { key: ctx.carol, json: { url: 'https://example.com/y' } }, 201);
	await call('carol: a retry too many', 'POST', '/jobs/' + cj + '/retry', C, 429);

	// ---- account ----
	await call('webhook: none', 'GET', '/account/webhook', A, 200);
	r = await call('webhook: set', 'PUT', '/account/webhook', { key: ctx.alice, json: { url: ctx.hook } }, 200);
	ok(r.json && /^[0-9a-f]{64}$/.test(r.json.secret || ''), 'webhook: the secret, once');
	r = await call('webhook: no url', 'PUT', '/account/webhook', { key: ctx.alice, json: {} }, 400);
	ok(r.json && r.json.field === 'url', 'webhook: 400 names url');
	await call('webhook: set, session without CSRF', 'PUT', '/account/webhook', { cookie: s.cookie, json: { url: 'https://hooks.example.org/x' } }, 403);
	await call('webhook: remove, session without CSRF', 'DELETE', '/account/webhook', S, 403);
	await call('webhook: remove', 'DELETE', '/account/webhook', A, 200);
	// a client that can only POST: as PUT, or DELETE with "remove"
	r = await call('webhook: set by POST', 'POST', '/account/webhook', { key: ctx.alice, json: { url: ctx.hook } }, 200);
	ok(r.json && /^[0-9a-f]{64}$/.test(r.json.secret || ''), 'webhook: POST answers the secret, once');
	r = await call('webhook: POST with no url', 'POST', '/account/webhook', { key: ctx.alice, json: {} }, 400);
	ok(r.json && r.json.field === 'url', 'webhook: POST\'s 400 names url');
	await call('webhook: POST, session without CSRF', 'POST', '/account/webhook', { cookie: s.cookie, json: { url: 'https://hooks.example.org/x' } }, 403);
	r = await call('webhook: remove by POST', 'POST', '/account/webhook', { key: ctx.alice, json: { remove: '1' } }, 200);
	ok(r.json && r.json.url === null, 'webhook: POST with remove removes it');

	// ---- 413 on every route that takes a body ----
	for (const t of templates)
		for (const m of ['put', 'post', 'delete', 'patch'])
			if (doc.paths[t][m] && doc.paths[t][m].requestBody && !seen.has(t + ' ' + m + ' 413'))
				await call('a body over the cap', m.toUpperCase(), t.replace(/\{id\}/g, String(J)),
				    { key: ctx.alice, body: 'x'.repeat(ctx.bigBody), ctype: 'application/json' }, 413);
	// a browser's malformed body
	for (const a of ['cancel', 'retry'])
		await call('a session\'s malformed body', 'POST', '/jobs/' + K + '/' + a,
		    { cookie: s.cookie, body: 'csrf=' + s.csrf + '&a=%zz', ctype: 'application/x-www-form-urlencoded' }, 400);
	await call('webhook: remove, malformed JSON', 'DELETE', '/account/webhook', { key: ctx.alice, body: '{', ctype: 'application/json' }, 400);

	// ---- 401 on every route that needs a key ----
	const methods = ['get', 'put', 'post', 'delete', 'patch'];
	for (const t of templates)
		for (const m of methods)
			if (doc.paths[t][m] && !(doc.paths[t][m].security && doc.paths[t][m].security.length === 0))
				await call('no key', m.toUpperCase(), t.replace(/\{id\}/g, String(J)), {}, 401);

	// ---- 405 on every documented path: the error shape and Allow ----
	for (const t of templates) {
		const m = methods.find(x => !doc.paths[t][x]);
		if (NO_405[t]) {
			console.log('# ' + t + ': no 405 (' + NO_405[t] + ')');
			continue;
		}
		const p = t.replace(/\{id\}/g, String(J));
		const res405 = await fetch(ctx.base + p, { method: m.toUpperCase(), headers: { Accept: 'application/json', Authorization: 'Bearer ' + ctx.alice } });
		const text = await res405.text();
		let good = res405.status === 405 && res405.headers.has('allow');
		let why = res405.status + ' ' + text.slice(0, 200);
		try {
			const v = validatorFor({ $ref: '#/components/schemas/Error' });
			if (!v(JSON.parse(text))) { good = false; why += ' ' + ajv.errorsText(v.errors); }
		} catch (e) { good = false; }
		ok(good, '405: ' + m.toUpperCase() + ' ' + t + ' answers 405, the error shape and Allow', why);
		const allow = (res405.headers.get('allow') || '').toLowerCase().split(/, */).filter(x => x && x !== 'head').sort();
		const documented = methods.filter(x => doc.paths[t][x]).sort();
		ok(JSON.stringify(allow) === JSON.stringify(documented), '405: Allow of ' + t + ' is the documented methods',
		    allow.join(',') + ' vs ' + documented.join(','));
	}

	// ---- coverage ----
	for (const t of templates)
		for (const m of methods) {
			if (!doc.paths[t][m]) continue;
			ok(called.has(t + ' ' + m), 'called: ' + m.toUpperCase() + ' ' + t);
			for (const st of Object.keys(doc.paths[t][m].responses)) {
				const why = notProvoked(t, m, st);
				if (why)
					console.log('# not provoked: ' + m.toUpperCase() + ' ' + t + ' ' + st + ' (' + why[3] + ')');
				else
					ok(seen.has(t + ' ' + m + ' ' + st), 'provoked and valid: ' + m.toUpperCase() + ' ' + t + ' ' + st);
			}
		}
}

main().then(() => process.exit(fails ? 1 : 0), e => {
	console.log('not ok the check ran to its end: ' + (e && e.stack || e));
	process.exit(1);
});
