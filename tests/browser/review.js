// Review before render, in the browser, with real runners (driven by
// tests/t_web_browser_review.sh): submit with "review" checked, the job
// stops awaiting review with ranked candidates in editors; correct a word,
// leave one out of the captions, move the end a word earlier, render that
// clip, and find the corrected word (and not the removed one) in the
// rendered clip's subtitles; then render the finished clip again with
// another caption style: the old video stays on the card while the new
// one is made, and the card is ready again with a new video.  Screenshots
// of the page with the editors open at a phone's and a desktop's width.
//   node review.js BASE KEY VIDEO SHOTDIR
'use strict';
const { ok, withBrowser, screenshot } = require('./lib.js');

const [base, key, video, shotdir] = process.argv.slice(2);
const LONG = 900000;	// a slow machine: how long a stage may take at most

// GET URL as JSON in the page (the session's cookie).
function getJSON(page, url) {
  return page.evaluate((u) => fetch(u, { headers: { Accept: 'application/json' } })
    .then((r) => r.json()), url);
}
function getText(page, url) {
  return page.evaluate((u) => fetch(u).then((r) => r.text()), url);
}
// SHA-256 of what URL serves, in the page; '' when it cannot be read.
function digest(page, url) {
  return page.evaluate((u) => fetch(u).then((r) => r.ok ? r.arrayBuffer() : null)
    .then((b) => b ? crypto.subtle.digest('SHA-256', b) : null)
    .then((h) => h ? Array.from(new Uint8Array(h)).map((x) => x.toString(16).padStart(2, '0')).join('') : ''),
  url).catch(() => '');
}
function waitState(page, sel, state, timeout) {
  return page.waitForFunction(([s, want]) => {
    const e = document.querySelector(s);
    return e && e.dataset.state === want;
  }, [sel, state], { timeout, polling: 250 }).then(() => true, () => false);
}

withBrowser([], async (browser, page) => {
  await page.goto(base + '/login');
  await page.fill('#key', key);
  await Promise.all([page.waitForURL(base + '/'), page.click('#login')]);
  await page.setInputFiles('#file', video);
  await page.fill('input[name="clips"]', '1');
  await page.check('input[name="review"]');
  await Promise.all([page.waitForURL(/\/jobs\/\d+$/), page.click('#submit')]);
  const job = page.url().match(/\/jobs\/(\d+)$/)[1];
  console.log('# job ' + job);
  ok(true, 'submitted with "review" checked, on the job page');

  // --- the job stops for review, its candidates ranked, editors open
  ok(await waitState(page, '#state', 'awaiting_review', LONG), 'the job came to await review live');
  ok((await page.textContent('#review')).includes('This job awaits your review'),
    'the page says the job awaits review');
  const cards = await page.$$eval('#clips .clip', (l) => l.map((c) => ({
    id: +c.dataset.clip, state: c.dataset.state, rank: JSON.parse(c.dataset.edit).rank,
    badge: (c.querySelector('.rank') || {}).textContent })));
  console.log('# candidates ' + JSON.stringify(cards));
  ok(cards.length > 1 && cards.every((c) => c.state === 'candidate'),
    'more candidates than the one clip asked for (' + cards.length + ')');
  ok(cards.every((c, i) => c.badge === '#' + c.rank && (i === 0 || c.rank > cards[i - 1].rank)),
    'the candidates are shown ranked, best first');
  ok((await page.textContent('#render-all')).trim() === 'Render all ' + cards.length + ' candidates',
    'a "Render all" button for the ' + cards.length + ' candidates');
  const js = await page.getAttribute('script[src^="/static/editor.js"]', 'src');
  const hdr = await page.evaluate((u) => fetch(u).then((r) => [r.status,
    r.headers.get('content-type'), r.headers.get('cache-control')]), js);
  ok(/^\/static\/editor\.js\?v=[0-9a-f]{16}$/.test(js) && hdr[0] === 200 &&
    /^text\/javascript/.test(hdr[1]) && /max-age=31536000/.test(hdr[2]),
    'the editor\'s script is served by its versioned address, cached (' + js + ' ' + hdr.join(', ') + ')');
  const id = cards[0].id, sel = '#clip-' + id;
  await page.waitForSelector(sel + ' .editor .e-words .w', { timeout: 60000 });
  const nEditors = await page.$$eval('#clips .editor .e-words', (l) => l.length);
  ok(nEditors === cards.length, 'every candidate has its editor open (' + nEditors + ')');

  // The words: those the recogniser was not sure of are marked.
  const tr = await getJSON(page, '/jobs/' + job + '/transcript');
  const shown = await page.$$eval(sel + ' .e-word', (l) => l.map((i) => +i.dataset.i));
  const low = await page.$$eval(sel + ' .w.low .e-word', (l) => l.map((i) => +i.dataset.i));
  ok(shown.length > 3, 'the clip\'s words are listed, each editable (' + shown.length + ')');
  const wantLow = shown.filter((i) => tr.words[i].confidence < 0.6);
  ok(JSON.stringify(low) === JSON.stringify(wantLow),
    'low-confidence words are marked (' + low.length + ' of ' + shown.length + ')');
  ok(await page.$$eval(sel + ' .w.out', (l) => l.length) > 0,
    'words around the clip are shown, to extend it');
  const times = await page.$$eval(sel + ' .w small', (l) => l.map((s) => s.textContent));
  ok(times.length > 0 && times.every((t) => /^\d+:\d\d\.\d$/.test(t)), 'each word shows its time');

  for (const [w, h] of [[390, 844], [1280, 800]]) {
    await page.setViewportSize({ width: w, height: h });
    const sw = await page.evaluate(() => document.documentElement.scrollWidth);
    ok(sw <= w, 'job page with the editors open at ' + w + 'x' + h + ': no horizontal scroll (' + sw + ' px wide)');
    await screenshot(page, shotdir + '/web_review-editor-' + w + '.png');
  }

  // --- correct a word, leave another out, move the end a word earlier,
  // all from the keyboard
  const words = shown.map((i) => ({ i, text: tr.words[i].text }));
  const count = (t) => words.filter((w) => w.text.toLowerCase() === t.toLowerCase()).length;
  const fix = words.find((w) => /^[a-z']+$/i.test(w.text));
  const drop = words.find((w) => w !== fix && w.i !== words[words.length - 1].i &&
    w.text.length > 3 && count(w.text) === 1 && /^[a-z]+$/i.test(w.text));
  console.log('# correct ' + JSON.stringify(fix) + ', remove ' + JSON.stringify(drop));
  const input = page.locator(sel + ' .e-word[data-i="' + fix.i + '"]');
  await input.focus();
  await page.keyboard.press('Control+A');
  await page.keyboard.type('Zebrafish');
  if (drop) {
    await page.focus(sel + ' .e-x[data-i="' + drop.i + '"]');
    await page.keyboard.press('Enter');
    ok(await page.getAttribute(sel + ' .e-x[data-i="' + drop.i + '"]', 'aria-pressed') === 'true',
      'a word is marked to be left out of the captions');
  }
  const endBefore = await page.textContent(sel + ' .e-end');
  await page.focus(sel + ' .e-e-earlier');
  await page.keyboard.press('Enter');
  const endAfter = await page.textContent(sel + ' .e-end');
  const lastWord = shown[shown.length - 1];
  ok(endAfter !== endBefore, 'the end moved a word earlier (' + endBefore + ' -> ' + endAfter + ')');
  ok(await page.$(sel + ' .e-word[data-i="' + lastWord + '"]') === null,
    'the word past the new end is shown outside the clip');
  await page.focus(sel + ' .e-save');
  await page.keyboard.press('Enter');
  await page.waitForFunction((s) => /Saved|\S/.test(document.querySelector(s + ' .e-msg').textContent) &&
    !/Saving/.test(document.querySelector(s + ' .e-msg').textContent), sel, { timeout: 30000 }).catch(() => {});
  const msg = await page.textContent(sel + ' .e-msg');
  ok(msg === 'Saved.', 'the edits are saved (' + msg + ')');

  // Saved on the server: a fresh load shows them.
  await page.reload();
  await page.waitForSelector(sel + ' .editor .e-words .w', { timeout: 60000 });
  ok(await page.inputValue(sel + ' .e-word[data-i="' + fix.i + '"]') === 'Zebrafish',
    'after a reload the corrected word is there');
  ok(await page.textContent(sel + ' .e-end') === endAfter, 'after a reload the end is where it was moved');
  let clip = (await getJSON(page, '/jobs/' + job)).clips.find((c) => c.id === id);
  const wantEnd = tr.words[lastWord - 1].end;
  ok(Math.abs(clip.end - wantEnd) < 0.01, 'the clip ends at the end of the word before (' +
    clip.end + ', ' + wantEnd + ')');

  // --- render that one clip
  await page.click(sel + ' .e-render');
  ok(await waitState(page, '#state', 'running', 60000), 'render asked: the job runs again');
  ok(await page.$(sel + ' .editor') === null, 'the editor closes while the clip renders');
  ok(await waitState(page, sel, 'ready', LONG), 'the clip became ready live');
  const vtt = await getText(page, '/clips/' + id + '/subtitles.vtt');
  console.log('# subtitles:\n# ' + vtt.split('\n').join('\n# '));
  ok(vtt.startsWith('WEBVTT') && vtt.includes('Zebrafish'), 'the subtitles have the corrected word');
  if (drop)
    ok(!new RegExp('\\b' + drop.text + '\\b', 'i').test(vtt), 'the subtitles leave out the removed word');
  const others = await page.$$eval('#clips .clip', (l) => l.filter((c) => c.dataset.state === 'candidate').length);
  ok(others === cards.length - 1, 'the other candidates stay candidates (' + others + ')');
  await page.waitForFunction(() => document.getElementById('state').dataset.state !== 'running',
    null, { timeout: 120000 }).catch(() => {});
  console.log('# job state after the render: ' + await page.getAttribute('#state', 'data-state'));

  // --- render the finished clip again with another caption style
  const oldSrc = await page.getAttribute(sel + ' video', 'src');
  ok(oldSrc !== null, 'the ready clip plays on its card');
  const oldSum = await digest(page, oldSrc);
  await page.$eval(sel + ' video', (v) => { v.dataset.first = '1'; });
  clip = (await getJSON(page, '/jobs/' + job)).clips.find((c) => c.id === id);
  await page.click(sel + ' .edit-btn');
  await page.waitForSelector(sel + ' .editor select[data-f="caption_style"]');
  const style = await page.inputValue(sel + ' select[data-f="caption_style"]');
  const other = style === 'minimal' ? 'classic' : 'minimal';
  await page.selectOption(sel + ' select[data-f="caption_style"]', other);
  await page.click(sel + ' .e-render');
  const during = await page.waitForFunction((s) => {
    const c = document.querySelector(s);
    return c && c.dataset.state !== 'ready' ? { state: c.dataset.state,
      video: !!c.querySelector('video'), text: c.querySelector('.cstate').textContent } : false;
  }, sel, { timeout: 60000, polling: 100 }).then((h) => h.jsonValue()).catch(() => null);
  console.log('# during the new render: ' + JSON.stringify(during));
  ok(during && during.video, 'the old video stays on the card while the new one is made');
  ok(await waitState(page, sel, 'ready', LONG), 'the card shows the clip ready again');
  // The clip keeps its address (/clips/ID/video, which the server
  // revalidates: no-cache), so the card must load it anew, in a fresh
  // player, and what it serves must be the new render.
  const newSrc = await page.getAttribute(sel + ' video', 'src');
  ok(await page.$eval(sel + ' video', (v) => v.dataset.first !== '1'),
    'the card has a fresh player for the new render (' + newSrc + ')');
  const newSum = await digest(page, newSrc);
  ok(oldSum !== '' && newSum !== '' && newSum !== oldSum,
    'the card\'s video is the new render (' + oldSum.slice(0, 12) + ' -> ' + newSum.slice(0, 12) + ')');
  clip = (await getJSON(page, '/jobs/' + job)).clips.find((c) => c.id === id);
  ok(clip.caption_style === other, 'the clip now has the ' + other + ' caption style');
  await screenshot(page, shotdir + '/web_review-rerendered.png');

  // --- "Render all": the candidates left are rendered
  const left = await page.$$eval('#clips .clip[data-state="candidate"]', (l) => l.length);
  const label = (await page.textContent('#render-all')).trim();
  ok(left === 1 && label === 'Render the candidate', '"Render all" says what it renders (' + label + ')');
  await page.focus('#render-all');
  await page.keyboard.press('Enter');
  const allReady = await page.waitForFunction(() => {
    const c = document.querySelectorAll('#clips .clip');
    return Array.prototype.every.call(c, (x) => x.dataset.state === 'ready') &&
      document.getElementById('state').dataset.state === 'done';
  }, null, { timeout: LONG, polling: 500 }).then(() => true, () => false);
  ok(allReady, 'after "Render all" every clip is ready and the job done, live');
  ok(await page.$('#render-all') === null, 'no candidate left: no "Render all"');
});
