// Time to interactive of the editor, cold, in Debian's Chromium
// (server/admin.BenchmarkEditorTTI runs it; `make bench` prints it).
//
//   TROVATO_TTI_SESSION=<session id> node e2e/tti.mjs http://127.0.0.1:PORT [runs]
//
// Each run is a fresh browser context (empty HTTP cache, no service
// worker), signed in by the session cookie, at 1024×768 without CPU or
// network throttling. Two screens: the content list (/admin/content) and
// an article in the item editor (which loads CodeMirror). A screen is
// interactive when its controls are rendered (the list's first row and the
// New form; the editor's title input and CodeMirror's content) and no long
// task (>50 ms) is still running: TTI = max(ready, end of the last long
// task), in ms since navigation start. Prints one JSON line:
//   TTI-RESULT {"list":[ms...],"editor":[ms...],"fcp":[ms...]}
import { chromium } from 'playwright-core';

const base = (process.argv[2] || '').replace(/\/$/, '');
const runs = Number(process.argv[3] || 5);
const session = process.env.TROVATO_TTI_SESSION || '';
if (!base || !session) {
  console.error('usage: TROVATO_TTI_SESSION=ID node e2e/tti.mjs URL [runs]');
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

const longTasks = () => {
  window.__longTaskEnd = 0;
  try {
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) window.__longTaskEnd = Math.max(window.__longTaskEnd, e.startTime + e.duration);
    }).observe({ type: 'longtask', buffered: true });
  } catch { /* no longtask support: ready time only */ }
};

async function measure(path, ready) {
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
  await context.addCookies([{ name: 'trovato_session', value: session, url: base }]);
  await context.addInitScript(longTasks);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(base + path, { waitUntil: 'commit' });
  const readyAt = await (await page.waitForFunction(ready, null, { timeout: 30000, polling: 'raf' })).jsonValue();
  // Let a long task that began before "ready" finish and be reported.
  await page.waitForTimeout(250);
  const r = await page.evaluate((readyAt) => ({
    tti: Math.max(readyAt, window.__longTaskEnd || 0),
    fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
  }), readyAt);
  await context.close();
  if (errors.length) throw new Error(`${path}: ${errors.join('; ')}`);
  return r;
}

const out = { list: [], editor: [], fcp: [] };
try {
  // An article to open (read with the session, outside the measured runs).
  const probe = await browser.newContext();
  await probe.addCookies([{ name: 'trovato_session', value: session, url: base }]);
  const res = await probe.request.get(base + '/api/v1/items?type=article&limit=1');
  const article = (await res.json()).items?.[0]?.id;
  await probe.close();
  if (!article) throw new Error('no article to open: ' + res.status());
  for (let i = 0; i < runs; i++) {
    const l = await measure('/admin/content', () => document.querySelector('table.list tbody tr') && document.querySelector('#new-type') && performance.now());
    out.list.push(Math.round(l.tti));
    if (l.fcp !== null) out.fcp.push(Math.round(l.fcp));
    const e = await measure('/admin/content/' + article, () => document.querySelector('#ed-title') && document.querySelector('.cm-content') && performance.now());
    out.editor.push(Math.round(e.tti));
  }
} finally {
  await browser.close();
}
console.log('TTI-RESULT ' + JSON.stringify(out));
