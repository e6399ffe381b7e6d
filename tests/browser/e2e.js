// End-to-end in the browser: log in, upload a talking-head video through
// the form, watch the stages' progress bars move live while real runners
// work, and play a finished clip from the gallery.  Driven by
// tests/t_web_e2e.sh, which runs the runners meanwhile.
//   node e2e.js BASE KEY VIDEO SCREENSHOT
'use strict';
const { ok, withBrowser, screenshot } = require('./lib.js');

const [base, key, video, shot] = process.argv.slice(2);

withBrowser(['--autoplay-policy=no-user-gesture-required'], async (browser, page) => {
  await page.goto(base + '/login');
  await page.fill('#key', key);
  await Promise.all([page.waitForURL(base + '/'), page.click('#login')]);
  await page.setInputFiles('#file', video);
  await page.fill('input[name="clips"]', '1');
  await Promise.all([page.waitForURL(/\/jobs\/\d+$/), page.click('#submit')]);
  ok(true, 'uploaded through the form, on the job page');
  await page.evaluate(() => { window.__sameLoad = 1; });

  // Live progress: some stage's bar shows a value strictly between 0 and
  // 100 while the runners work (the page long-polls; no reload).
  const seen = await page.waitForFunction(() => {
    for (const b of document.querySelectorAll('.bar[data-stage]')) {
      const p = +b.dataset.pct;
      if (p > 0 && p < 100) return b.dataset.stage + ' ' + p;
    }
    return false;
  }, null, { timeout: 120000, polling: 50 }).then((h) => h.jsonValue()).catch(() => '');
  ok(seen !== '', 'a progress bar moved live (' + seen + ')');

  await page.waitForFunction(() => document.getElementById('state').dataset.state === 'done',
    null, { timeout: 400000 }).catch(() => {});
  ok(await page.getAttribute('#state', 'data-state') === 'done', 'the job reached done live');

  ok(await page.evaluate(() => window.__sameLoad === 1),
    'the page followed the job live, without reloading');
  // The clip appears in the gallery without a reload, and plays.
  await page.waitForSelector('#clips video', { timeout: 30000 }).catch(() => {});
  const n = await page.$$eval('#clips video', (v) => v.length);
  ok(n === 1, 'one clip in the gallery (' + n + ')');
  const card = n > 0 ? await page.textContent('#clips .clip') : '';
  ok(/\d+:\d\d\u2013\d+:\d\d of the source \(\d+ s\)/.test(card),
    'the card says where the clip lies in the source');
  ok(/Score \d+ of 100/.test(card) && /speech: \d+ of 35/.test(card),
    'the card says what the score is made of');
  if (n > 0) {
    const played = await page.$eval('#clips video', (v) => new Promise((resolve) => {
      v.muted = true;
      v.preload = 'auto';
      const t0 = Date.now();
      const tick = () => {
        if (v.currentTime > 0.5) return resolve({ w: v.videoWidth, h: v.videoHeight, t: v.currentTime, d: v.duration });
        if (v.error) return resolve({ err: v.error.code });
        if (Date.now() - t0 > 20000) return resolve({ w: v.videoWidth, h: v.videoHeight, t: v.currentTime, timeout: true });
        setTimeout(tick, 100);
      };
      v.play().catch((e) => resolve({ err: String(e) }));
      tick();
    }));
    console.log('# video: ' + JSON.stringify(played));
    ok(played.w === 1080 && played.h === 1920, 'the clip is 1080x1920 in the player');
    ok(played.t > 0.5, 'the clip plays in the browser');
  }
  await screenshot(page, shot);
});
