// Browser test: log in, submit the form with a file, watch the progress
// bar move and the job reach its end, keep a screenshot.  Driven by
// tests/t_web_browser.sh, which moves the job along meanwhile.
//   node submit.js BASE KEY VIDEO SCREENSHOT
'use strict';
const { ok, withBrowser, screenshot } = require('./lib.js');

const [base, key, video, shot] = process.argv.slice(2);

withBrowser([], async (browser, page) => {
  await page.goto(base + '/');
  ok(page.url() === base + '/login', 'not logged in: sent to the login page');
  await page.fill('#key', 'cm_wrong');
  await page.click('#login');
  ok((await page.textContent('#login-error')).includes('not valid'), 'wrong key: the page says so');
  await page.fill('#key', key);
  await Promise.all([page.waitForURL(base + '/'), page.click('#login')]);
  ok(true, 'logged in, on the form');
  const cookies = await browser.cookies();
  const c = cookies.find((x) => x.name === 'cm_session');
  ok(c && c.httpOnly && c.sameSite === 'Lax', 'session cookie is HttpOnly, SameSite=Lax');

  // long-polls in flight, and when the last one started
  let inflight = 0, lastStart = 0;
  const isPoll = (r) => /\/events\?/.test(r.url());
  page.on('request', (r) => { if (isPoll(r)) { inflight++; lastStart = Date.now(); } });
  const finished = (r) => { if (isPoll(r)) inflight--; };
  page.on('requestfinished', finished);
  page.on('requestfailed', finished);

  // Nothing to make clips from: the form comes back saying so, with what
  // was typed still in it.
  await page.fill('input[name="clips"]', '2');
  await Promise.all([page.waitForNavigation(), page.click('#submit')]);
  const ferr = await page.$('#form-error');
  ok(ferr !== null && /url|file/i.test(await ferr.textContent()),
    'empty submit: the form again, the error at its top (' + (ferr ? await ferr.textContent() : 'none') + ')');
  ok(await page.$('#submit-form') !== null && await page.inputValue('input[name="clips"]') === '2',
    'empty submit: the form keeps what was typed');
  const beside = await page.$('.field-error[role="alert"]');
  ok(beside !== null, 'empty submit: the message beside the field (' +
    (beside ? await beside.getAttribute('id') : 'none') + ')');

  await page.setInputFiles('#file', video);
  await Promise.all([page.waitForURL(/\/jobs\/\d+$/), page.click('#submit')]);
  const job = page.url().match(/\/jobs\/(\d+)$/)[1];
  console.log('# job ' + job);
  ok(true, 'form submitted with a file, on the job page');
  ok(await page.isVisible('.bar[data-stage="fetch"]'), 'a progress bar for the first stage');

  // the driver moves the job: the bar must show a value between 0 and 100
  const seen = await page.waitForFunction(() => {
    const b = document.querySelector('.bar[data-stage="fetch"]');
    const p = b ? +b.dataset.pct : 0;
    return p > 0 && p < 100 ? p : false;
  }, null, { timeout: 30000 }).then((h) => h.jsonValue()).catch(() => 0);
  ok(seen > 0 && seen < 100, 'progress bar moved live (' + seen + '%)');
  await page.waitForFunction(() => document.getElementById('state').dataset.state === 'done',
    null, { timeout: 45000 }).catch(() => {});
  ok(await page.getAttribute('#state', 'data-state') === 'done', 'job reached its end live (done)');
  const width = await page.$eval('.bar[data-stage="fetch"] > div', (d) => d.style.width);
  ok(width === '100%', 'progress bar full at the end');
  const events = await page.$$eval('#events li', (l) => l.map((x) => x.textContent));
  ok(events.some((e) => e.includes('progress')) && events.some((e) => e.includes('done')),
    'event log shows progress and done');
  // the job has ended: the page's last long-poll is answered at once
  // with the final state, and the page stops asking
  for (let i = 0; i < 100 && inflight > 0; i++)
    await page.waitForTimeout(100);
  ok(inflight === 0, 'no long-poll left waiting once the job ended (' + inflight + ')');
  const last = lastStart;
  await page.waitForTimeout(3000);
  ok(inflight === 0 && lastStart === last, 'the page stopped polling after the job ended');
  await screenshot(page, shot);

  // The job page, the form and the list at a phone's width and a desktop's: nothing
  // wider than the screen.
  const pages = [['job', page.url()], ['form', base + '/'], ['list', base + '/jobs']];
  for (const [name, url] of pages) {
    await page.goto(url);
    for (const [w, h] of [[390, 844], [1280, 800]]) {
      await page.setViewportSize({ width: w, height: h });
      const sw = await page.evaluate(() => document.documentElement.scrollWidth);
      ok(sw <= w, name + ' page at ' + w + 'x' + h + ': no horizontal scroll (' + sw + ' px wide)');
      await screenshot(page, shot.replace(/\.png$/, '-' + name + '-' + w + '.png'));
    }
  }
});
