/*
 * The job page's clip editor (served as /static/editor.js, built into
 * clipmill.fcgi).  For a candidate or a finished clip: its words with
 * their times (low-confidence ones marked), each correctable in place or
 * left out of the captions; start and end moved a word at a time, past
 * the candidate's bounds too; title, aspect, layout and caption style;
 * "Render" per clip and "Render all".  It talks to PATCH /clips/{id},
 * POST /clips/{id}/render and POST /jobs/{id}/render with JSON bodies
 * that carry the CSRF token.  The page's live script (pages.c) keeps an
 * open editor and a playing video when it swaps in a fresher card.
 */
(function () {
'use strict';
var body = document.body, job = body.dataset.job, csrf = body.dataset.csrf || '';
var LOW = 0.6, CONTEXT = 12;
var words = null, wordsP = null;	/* the job's transcript */
var eds = {};				/* clip id -> editor state */

document.documentElement.classList.add('js');

function el(tag, attrs, kids) {
  var e = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) {
    if (k === 'text') e.textContent = attrs[k];
    else if (k === 'cls') e.className = attrs[k];
    else e.setAttribute(k, attrs[k]);
  });
  (kids || []).forEach(function (c) { if (c) e.appendChild(c); });
  return e;
}

/* Seconds as 1:02.3. */
function clock(s) {
  var m = Math.floor(s / 60), r = s - 60 * m;
  return m + ':' + (r < 10 ? '0' : '') + r.toFixed(1);
}

function transcript() {
  if (!wordsP)
    wordsP = fetch('/jobs/' + job + '/transcript', {
      headers: { Accept: 'application/json' }, credentials: 'same-origin'
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) throw new Error(j.message || ('HTTP ' + r.status));
        words = j.words || [];
        return words;
      });
    }).catch(function (e) { wordsP = null; throw e; });
  return wordsP;
}

function card(id) { return document.getElementById('clip-' + id); }
function clipData(id) {
  var c = card(id);
  try { return JSON.parse(c.dataset.edit); } catch (e) { return null; }
}

/* Send BODY (an object; the CSRF token is added) as JSON; resolve with
 * the answer's JSON, reject with {message, field}. */
function send(method, url, obj) {
  obj.csrf = csrf;
  return fetch(url, {
    method: method, credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(obj)
  }).then(function (r) {
    return r.text().then(function (t) {
      var j = null;
      try { j = JSON.parse(t); } catch (e) { /* not JSON */ }
      if (!r.ok)
        throw { message: (j && (j.message || j.error)) ||
          ('The server answered ' + r.status + '.'), field: j && j.field };
      return j;
    });
  }, function () {
    throw { message: 'The server could not be reached; try again.' };
  });
}

/* The first word ending after S, the last word starting before E. */
function firstIn(s) {
  for (var i = 0; i < words.length; i++) if (words[i].end > s) return i;
  return words.length - 1;
}
function lastIn(e) {
  for (var i = words.length - 1; i >= 0; i--) if (words[i].start < e) return i;
  return 0;
}

/* A fresh state for clip ID from its card's data. */
function stateOf(id) {
  var d = clipData(id), ed = d.edits || {};
  var st = {
    id: id, d: d, start: d.start, end: d.end,
    fix: {}, removed: {}, msgEl: null, root: null, busy: false
  };
  Object.keys(ed.words || {}).forEach(function (k) { st.fix[k] = ed.words[k]; });
  (ed.removed || []).forEach(function (i) { st.removed[i] = true; });
  st.si = firstIn(st.start);
  st.ei = lastIn(st.end);
  st.from = Math.max(0, st.si - CONTEXT);
  st.to = Math.min(words.length - 1, st.ei + CONTEXT);
  return st;
}

function say(st, text, bad) {
  st.msgEl.textContent = text;
  st.msgEl.className = 'e-msg' + (bad ? ' error' : '');
}

/* Move start (WHICH 's') or end ('e') to word I. */
function setBound(st, which, i) {
  if (i < 0 || i >= words.length) return;
  if (which === 's') {
    if (i > st.ei) return say(st, 'The start must stay before the end.', true);
    st.si = i; st.start = words[i].start;
    if (i < st.from) st.from = Math.max(0, i - CONTEXT);
  } else {
    if (i < st.si) return say(st, 'The end must stay after the start.', true);
    st.ei = i; st.end = words[i].end;
    if (i > st.to) st.to = Math.min(words.length - 1, i + CONTEXT);
  }
  draw(st);
  var b = st.root.querySelector(which === 's' ? '.e-s-later' : '.e-e-later');
  if (b) b.focus();
}

/* The list of words: inside the clip an input each (and a button that
 * leaves it out of the captions), outside it a button that moves the
 * start or the end to it. */
function drawWords(st, ol) {
  var i, w, li, inp, x, t, low;
  ol.textContent = '';
  for (i = st.from; i <= st.to; i++) {
    w = words[i];
    low = w.confidence < LOW;
    t = clock(w.start) + (low ? ', low confidence ' + Math.round(100 * w.confidence) + '%' : '');
    if (i < st.si || i > st.ei) {
      li = el('li', { cls: 'w out' + (low ? ' low' : '') }, [
        el('button', { type: 'button', 'data-i': i, 'data-to': i < st.si ? 's' : 'e',
          cls: 'e-out', title: (i < st.si ? 'Start the clip here' : 'End the clip here'),
          'aria-label': (i < st.si ? 'Start the clip at ' : 'End the clip at ') +
            '\u201c' + w.text + '\u201d, ' + t, text: w.text }),
        el('small', { text: clock(w.start) })]);
    } else {
      inp = el('input', { type: 'text', cls: 'e-word', 'data-i': i, maxlength: 64,
        spellcheck: 'false', autocomplete: 'off',
        'aria-label': 'Word ' + (i - st.si + 1) + ' at ' + t +
          (i in st.fix ? ', corrected from \u201c' + w.text + '\u201d' : '') });
      inp.value = i in st.fix ? st.fix[i] : w.text;
      fit(inp);
      x = el('button', { type: 'button', cls: 'e-x', 'data-i': i,
        'aria-pressed': st.removed[i] ? 'true' : 'false',
        title: 'Leave this word out of the captions',
        'aria-label': 'Leave \u201c' + inp.value + '\u201d out of the captions',
        text: '\u2715' });
      li = el('li', { cls: 'w' + (low ? ' low' : '') + (st.removed[i] ? ' removed' : '') +
        (i in st.fix ? ' fixed' : ''), title: t }, [inp,
        el('small', { text: clock(w.start) }), x]);
    }
    ol.appendChild(li);
  }
}

/* An input as wide as its word. */
function fit(inp) {
  inp.style.width = (Math.max(2, Math.min(24, inp.value.length)) + 1) + 'ch';
}

function draw(st) {
  var r = st.root;
  r.querySelector('.e-start').textContent = clock(st.start);
  r.querySelector('.e-end').textContent = clock(st.end);
  r.querySelector('.e-len').textContent = (st.end - st.start).toFixed(1) + ' s';
  r.querySelector('.e-more-before').hidden = st.from === 0;
  r.querySelector('.e-more-after').hidden = st.to >= words.length - 1;
  drawWords(st, r.querySelector('.e-words'));
}

function boundsCtl(cls, label) {
  return el('span', { cls: 'e-bound', role: 'group', 'aria-label': label }, [
    el('span', { text: label + ' ' }),
    el('button', { type: 'button', cls: 'e-' + cls + '-earlier',
      'aria-label': label + ' one word earlier', text: '\u25c0' }),
    el('output', { cls: cls === 's' ? 'e-start' : 'e-end' }),
    el('button', { type: 'button', cls: 'e-' + cls + '-later',
      'aria-label': label + ' one word later', text: '\u25b6' })]);
}

/* The selects, cloned from the page's template, set to the clip's. */
function optionsCtl(st) {
  var t = document.getElementById('editor-options'), box = el('div', { cls: 'e-opts' });
  if (!t) return box;
  box.appendChild(document.importNode(t.content, true));
  ['aspect', 'layout', 'caption_style'].forEach(function (k) {
    var s = box.querySelector('select[data-f="' + k + '"]');
    if (s && st.d[k]) s.value = st.d[k];
  });
  return box;
}

function build(st) {
  var d = st.d, r = el('div', { cls: 'editor', role: 'group',
    'aria-label': 'Edit clip ' + st.id });
  var title = el('input', { type: 'text', cls: 'e-title', maxlength: 100 });
  title.value = d.title || '';
  r.appendChild(el('label', { cls: 'e-tl' }, [el('span', { text: 'Title ' }), title]));
  r.appendChild(el('div', { cls: 'e-bounds' }, [boundsCtl('s', 'Start'),
    boundsCtl('e', 'End'), el('span', {}, [el('span', { text: 'Length ' }),
      el('output', { cls: 'e-len' })])]));
  r.appendChild(el('p', { cls: 'e-help', text: 'Correct a word by typing over it; ' +
    '\u2715 leaves it out of the captions; words on yellow were heard with ' +
    'low confidence. Grey words lie outside the clip: choose one to start or ' +
    'end the clip there.' }));
  r.appendChild(el('button', { type: 'button', cls: 'e-more-before', text: 'Show earlier words' }));
  r.appendChild(el('ol', { cls: 'e-words', 'aria-label': 'Words' }));
  r.appendChild(el('button', { type: 'button', cls: 'e-more-after', text: 'Show later words' }));
  r.appendChild(optionsCtl(st));
  st.msgEl = el('p', { cls: 'e-msg', role: 'status', 'aria-live': 'polite' });
  r.appendChild(st.msgEl);
  r.appendChild(el('div', { cls: 'e-actions' }, [
    el('button', { type: 'button', cls: 'e-save', text: 'Save' }),
    el('button', { type: 'button', cls: 'e-render', text: d.state === 'candidate' ?
      'Render' : 'Render again' }),
    el('button', { type: 'button', cls: 'e-close', text: 'Close' })]));
  st.root = r;
  r.addEventListener('click', function (e) { click(st, e); });
  r.addEventListener('input', function (e) { input(st, e); });
  r.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && e.target.tagName === 'INPUT') { e.preventDefault(); save(st); }
  });
  draw(st);
  return r;
}

function click(st, e) {
  var t = e.target.closest('button'), c, i;
  if (!t || st.busy) return;
  c = t.className; i = +t.dataset.i;
  if (c === 'e-s-earlier') setBound(st, 's', st.si - 1);
  else if (c === 'e-s-later') setBound(st, 's', st.si + 1);
  else if (c === 'e-e-earlier') setBound(st, 'e', st.ei - 1);
  else if (c === 'e-e-later') setBound(st, 'e', st.ei + 1);
  else if (c === 'e-out') { setBound(st, t.dataset.to, i); }
  else if (c === 'e-x') {
    st.removed[i] = !st.removed[i];
    t.setAttribute('aria-pressed', st.removed[i] ? 'true' : 'false');
    t.parentNode.classList.toggle('removed', st.removed[i]);
  } else if (c === 'e-more-before') { st.from = Math.max(0, st.from - CONTEXT); draw(st); }
  else if (c === 'e-more-after') { st.to = Math.min(words.length - 1, st.to + CONTEXT); draw(st); }
  else if (c === 'e-save') save(st);
  else if (c === 'e-render') save(st).then(function (ok) { if (ok) render(st); });
  else if (c === 'e-close') close(st.id);
}

function input(st, e) {
  var t = e.target, i;
  if (!t.classList.contains('e-word')) return;
  i = +t.dataset.i;
  /* kept in the state, so that a redraw (a bound moved) keeps it */
  if (t.value.trim() === '' || t.value.trim() === words[i].text) delete st.fix[i];
  else st.fix[i] = t.value.trim();
  fit(t);
  t.parentNode.classList.toggle('fixed', i in st.fix);
}

/* What changed since the clip's last saved state, as PATCH's fields. */
function changes(st) {
  var d = st.d, ed = d.edits || {}, old = ed.words || {}, out = {}, fix = {}, nfix = 0;
  var r = st.root, title = r.querySelector('.e-title').value.trim(), rm = [], oldrm;
  if (title !== (d.title || '')) out.title = title;
  if (st.si !== firstIn(d.start)) out.start = st.start;
  if (st.ei !== lastIn(d.end)) out.end = st.end;
  for (var k = st.si; k <= st.ei; k++) {
    var v = k in st.fix ? st.fix[k] : null;
    if (v !== (k in old ? old[k] : null)) { fix[k] = v; nfix++; }
  }
  if (nfix) out.words = fix;
  for (k = st.si; k <= st.ei; k++) if (st.removed[k]) rm.push(k);
  oldrm = (ed.removed || []).slice().sort(function (a, b) { return a - b; });
  if (rm.join() !== oldrm.join()) out.removed = rm;
  ['aspect', 'layout', 'caption_style'].forEach(function (k) {
    var s = r.querySelector('select[data-f="' + k + '"]');
    if (s && s.value !== (d[k] || s.dataset.def)) out[k] = s.value;
  });
  return out;
}

var NAMES = { start: '.e-s-later', end: '.e-e-later', title: '.e-title',
  words: '.e-word', removed: '.e-x', aspect: 'select[data-f="aspect"]',
  layout: 'select[data-f="layout"]', caption_style: 'select[data-f="caption_style"]' };

/* Save the changes; resolve true when saved (or nothing to save). */
function save(st) {
  var ch = changes(st);
  if (!Object.keys(ch).length) { say(st, 'Nothing to save.'); return Promise.resolve(true); }
  st.busy = true;
  say(st, 'Saving\u2026');
  return send('PATCH', '/clips/' + st.id, ch).then(function (clip) {
    st.busy = false;
    var c = card(st.id);
    if (clip && c) {
      c.dataset.edit = JSON.stringify(pick(clip));
      var keep = { from: st.from, to: st.to };
      var ns = stateOf(st.id);
      ns.from = Math.min(keep.from, ns.from); ns.to = Math.max(keep.to, ns.to);
      ns.root = st.root; ns.msgEl = st.msgEl; ns.d = pick(clip);
      Object.keys(ns).forEach(function (k) { st[k] = ns[k]; });
      draw(st);
    }
    say(st, 'Saved.');
    wake();
    return true;
  }, function (err) {
    st.busy = false;
    say(st, err.message, true);
    var f = err.field && NAMES[err.field] && st.root.querySelector(NAMES[err.field]);
    if (f) { f.setAttribute('aria-invalid', 'true'); f.focus(); }
    return false;
  });
}

/* The fields of a clip the editor keeps on its card. */
function pick(c) {
  return { id: c.id, state: c.state, start: c.start, end: c.end, title: c.title,
    aspect: c.aspect, layout: c.layout, caption_style: c.caption_style,
    edits: c.edits || {} };
}

function render(st) {
  st.busy = true;
  say(st, 'Asking for a render\u2026');
  send('POST', '/clips/' + st.id + '/render', {}).then(function () {
    st.busy = false;
    close(st.id);
    wake();
  }, function (err) { st.busy = false; say(st, err.message, true); });
}

function wake() { if (window.clipmillLive) window.clipmillLive.wake(); }

function open(id, focus) {
  var c = card(id), btn;
  if (!c || eds[id]) return;
  btn = c.querySelector('.edit-btn');
  if (btn) btn.setAttribute('aria-expanded', 'true');
  c.classList.add('editing');
  var wait = el('div', { cls: 'editor', text: 'Loading the words\u2026' });
  c.appendChild(wait);
  eds[id] = 'loading';
  transcript().then(function () {
    var st = stateOf(id);
    eds[id] = st;
    var r = build(st);
    (card(id).querySelector('.editor') || wait).replaceWith(r);
    if (focus) r.querySelector('.e-title').focus();
  }, function (e) {
    wait.textContent = 'The words could not be loaded: ' + e.message;
    wait.classList.add('error');
    delete eds[id];
  });
}

function close(id) {
  var c = card(id), r = c && c.querySelector('.editor'), btn;
  delete eds[id];
  if (!c) return;
  if (r) r.remove();
  c.classList.remove('editing');
  btn = c.querySelector('.edit-btn');
  if (btn) { btn.setAttribute('aria-expanded', 'false'); btn.focus(); }
}

function renderAll(btn) {
  var open_ = Object.keys(eds).filter(function (k) { return typeof eds[k] === 'object'; });
  var msg = document.getElementById('review-msg');
  btn.disabled = true;
  msg.textContent = 'Saving the edits\u2026';
  msg.className = '';
  open_.reduce(function (p, k) {
    return p.then(function (ok) { return ok && save(eds[k]); });
  }, Promise.resolve(true)).then(function (ok) {
    if (!ok) throw { message: 'An edit could not be saved; see the clip.' };
    msg.textContent = 'Asking for the renders\u2026';
    return send('POST', '/jobs/' + job + '/render', {});
  }).then(function (j) {
    open_.forEach(function (k) { if (j && j.clips && j.clips.indexOf(+k) >= 0) close(k); });
    msg.textContent = (j && j.clips ? j.clips.length : 0) + ' clips queued for rendering.';
    btn.disabled = false;
    wake();
  }, function (err) {
    msg.textContent = err.message;
    msg.className = 'error';
    btn.disabled = false;
  });
}

document.addEventListener('click', function (e) {
  var t = e.target.closest('button');
  if (!t) return;
  if (t.classList.contains('edit-btn')) {
    var id = t.dataset.clip;
    if (eds[id]) close(id); else open(id, true);
  } else if (t.id === 'render-all') renderAll(t);
});

/* A job awaiting review opens its candidates' editors, once each (on
 * load, or when the job comes to await review while the page is open). */
var autoDone = {};
function autoOpen() {
  var s = document.getElementById('state');
  if (!s || s.dataset.state !== 'awaiting_review') return;
  Array.prototype.forEach.call(document.querySelectorAll('.clip[data-state="candidate"]'),
    function (c) {
      if (autoDone[c.dataset.clip]) return;
      autoDone[c.dataset.clip] = 1;
      open(c.dataset.clip, false);
    });
}
document.addEventListener('clipmill:swap', function () {
  /* a card swapped in keeps its editor (pages.c); a clip now rendering
   * cannot be edited */
  Object.keys(eds).forEach(function (id) {
    var c = card(id);
    if (!c) { delete eds[id]; return; }
    var s = c.dataset.state;
    if (s === 'pending' || s === 'rendering' || s === 'rendered') close(id);
  });
  autoOpen();
});
autoOpen();
})();
