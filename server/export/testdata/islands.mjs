// islands.mjs INPUT.json: opens {"url"} in headless Chromium and prints
// what the island script did, as one JSON document:
// {"islands", "loaded", "hrefs": [links and form actions inside islands],
// "errors": [page errors], "aborted"}. Requests beyond loopback abort.
import { readFileSync } from 'node:fs';
import { launch, blockRemote, readArgs } from '../../../build/browser/browser.mjs';

const input = JSON.parse(readFileSync(readArgs(), 'utf8'));
const browser = await launch();
try {
  const context = await browser.newContext();
  const aborted = [];
  await blockRemote(context, aborted);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e.message || e)));
  await page.goto(input.url, { waitUntil: 'load', timeout: 30_000 });
  // Islands load after the page: wait until each is loaded or failed.
  await page.waitForFunction(() => {
    const all = document.querySelectorAll('[data-island]');
    return Array.prototype.every.call(all, (el) => el.hasAttribute('data-island-loaded'));
  }, null, { timeout: input.wait ?? 5_000 }).catch(() => {});
  const out = await page.evaluate(() => {
    const all = Array.from(document.querySelectorAll('[data-island]'));
    return {
      islands: all.length,
      loaded: all.filter((el) => el.hasAttribute('data-island-loaded')).length,
      hrefs: all.flatMap((el) => Array.from(el.querySelectorAll('a[href], form[action]')).map((a) => a.getAttribute('href') || a.getAttribute('action'))),
    };
  });
  out.errors = errors;
  out.aborted = aborted;
  process.stdout.write(JSON.stringify(out) + '\n');
} finally {
  await browser.close();
}
