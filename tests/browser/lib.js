// Shared by the browser tests: TAP lines, and Debian's chromium through
// playwright-core with the flags this closed network needs, in a fresh
// profile that is removed afterwards.
'use strict';
const path = require('path');
const fs = require('fs');
const os = require('os');
const { chromium } = require(path.join(__dirname, '../../contrib/node_modules/playwright-core'));

let fails = 0;
function ok(cond, name) {
  console.log((cond ? 'ok ' : 'not ok ') + name);
  if (!cond) fails++;
}

// Run BODY(browser, page) in a fresh headless chromium; report a thrown
// error as a failure; exit 0 only when every check passed.
async function withBrowser(extraArgs, body) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'clipmill-chromium-'));
  let browser = null;
  try {
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
        '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'].concat(extraArgs),
    });
    const page = browser.pages()[0] || await browser.newPage();
    page.setDefaultTimeout(30000);
    await body(browser, page);
  } catch (e) {
    ok(false, 'browser run: ' + e.message.split('\n')[0]);
  } finally {
    if (browser) await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  process.exit(fails ? 1 : 0);
}

// Keep a full-page screenshot at SHOT.
async function screenshot(page, shot) {
  fs.mkdirSync(path.dirname(shot), { recursive: true });
  await page.screenshot({ path: shot, fullPage: true });
  ok(fs.statSync(shot).size > 1000, 'screenshot kept at ' + shot);
}

module.exports = { ok, withBrowser, screenshot };
