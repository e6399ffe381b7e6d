// Browser test: on the account page, a private address is refused beside
// the field, a receiver's address is kept and its secret shown once (not
// on the next visit), at phone and desktop widths with no horizontal
// scroll.  Driven by tests/t_web_webhook.sh, which then ends a job and
// checks the receiver's delivery against the secret printed here.
//   node webhook.js BASE KEY RECEIVER_URL SHOT_PREFIX
'use strict';
const { ok, withBrowser, screenshot } = require('./lib.js');

const [base, key, hook, shots] = process.argv.slice(2);

async function noSideScroll(page, what) {
  const w = await page.evaluate(() => [document.documentElement.scrollWidth,
    document.documentElement.clientWidth]);
  ok(w[0] <= w[1], what + ': no horizontal scroll (' + w[0] + ' <= ' + w[1] + ')');
}

withBrowser([], async (browser, page) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(base + '/login');
  await page.fill('#key', key);
  await Promise.all([page.waitForURL(base + '/'), page.click('#login')]);
  await Promise.all([page.waitForURL(base + '/account'), page.click('header a[href="/account"]')]);
  ok(await page.isVisible('#webhook-none'), 'the account page says no webhook is set');

  await page.fill('#webhook-input', 'http://10.0.0.1/hook');
  await Promise.all([page.waitForNavigation(), page.click('#webhook-save')]);
  const refusal = await page.textContent('#error-url');
  ok(/10\.0\.0\.1, a private or local address/.test(refusal),
    'a private address is refused beside the field: ' + refusal.trim());
  ok(await page.inputValue('#webhook-input') === 'http://10.0.0.1/hook',
    'the refused address is still in the field');
  ok(!(await page.isVisible('#webhook-secret')), 'no secret for a refused address');

  await page.fill('#webhook-input', hook);
  await Promise.all([page.waitForNavigation(), page.click('#webhook-save')]);
  const secret = (await page.textContent('#webhook-secret')).trim();
  ok(/^[0-9a-f]{64}$/.test(secret), 'the secret is shown: 64 hex digits');
  ok((await page.textContent('#webhook-url')).trim() === hook, 'the page names the address kept');
  await noSideScroll(page, 'account page at 390 px');
  await screenshot(page, shots + '-390.png');
  console.log('secret ' + secret);

  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(base + '/account');
  ok(!(await page.isVisible('#webhook-secret')), 'the secret is not shown again');
  ok((await page.textContent('#webhook-url')).trim() === hook, 'the address is still kept');
  await noSideScroll(page, 'account page at 1280 px');
  await screenshot(page, shots + '-1280.png');
});
