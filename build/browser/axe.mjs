// axe.mjs INPUT.json: runs axe-core in headless Chromium on every URL of
// INPUT.json ({"urls": [...]}) and prints one JSON document on stdout:
// {"pages": [{"url", "status", "violations": [{"id", "impact", "help",
// "nodes": [{"target", "html", "summary"}]}]}], "aborted": [...]}.
// Every violation is reported; the caller decides which impacts fail.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { launch, blockRemote, readArgs } from './browser.mjs';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const input = JSON.parse(readFileSync(readArgs(), 'utf8'));

const browser = await launch();
const aborted = [];
try {
  // bypassCSP: the site's CSP forbids inline script, and axe is injected.
  const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });
  await blockRemote(context, aborted);
  // One tab per worker, reused from page to page.
  const queue = input.urls.map((u, i) => [u, i]);
  const pages = new Array(input.urls.length);
  async function worker() {
    let page = null;
    while (queue.length) {
      const [url, i] = queue.shift();
      if (!page) page = await context.newPage();
      try {
        const res = await page.goto(url, { waitUntil: 'load', timeout: 30_000 });
        await page.addScriptTag({ content: axeSource });
        const violations = await page.evaluate(async () => {
          // eslint-disable-next-line no-undef
          const r = await axe.run(document, { resultTypes: ['violations'] });
          return r.violations.map((v) => ({
            id: v.id,
            impact: v.impact,
            help: v.help,
            nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target.join(' '), html: n.html.slice(0, 200), summary: n.failureSummary })),
          }));
        });
        pages[i] = { url, status: res ? res.status() : 0, violations };
      } catch (e) {
        pages[i] = { url, status: 0, error: String(e && e.message ? e.message : e).split('\n')[0] };
        await page.close().catch(() => {});
        page = null;
      }
    }
    if (page) await page.close().catch(() => {});
  }
  await Promise.all(Array.from({ length: Math.min(input.parallel ?? 2, input.urls.length) }, worker));
  process.stdout.write(JSON.stringify({ pages, aborted }) + '\n');
} finally {
  await browser.close();
}
