// A smoke subset of the editor's browser suite (frontend/e2e/run.mjs),
// run against the desktop's handler (desktop/smoke_test.go serves it on
// 127.0.0.1 for Chromium): no sign-in (the handler acts as the local
// user), the content list, an article written in the editor and saved,
// the stage switcher, the article on the site, and no console errors or
// CSP violations. With a third argument, the site is connected to a server
// and that local stage conflicts with it: the Sync screen pushes it, shows
// the conflicts side by side, keeps mine for each and pushes again. Uses
// playwright-core from frontend/node_modules.
//   node desktop/testdata/smoke.mjs http://127.0.0.1:PORT ARTIFACTS_DIR [STAGE]
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '..', '..', 'frontend', 'package.json'));
const { chromium } = require('playwright-core');
const base = process.argv[2].replace(/\/$/, '');
const artifacts = process.argv[3];
const syncStage = process.argv[4] || '';
mkdirSync(artifacts, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
page.setDefaultTimeout(20000);
const problems = [];
page.on('console', (m) => {
  const t = m.text();
  if (/Content Security Policy|Refused to/i.test(t)) problems.push('CSP: ' + t);
  else if (m.type() === 'error' && !/^Failed to load resource/.test(t)) problems.push('console: ' + t);
});
page.on('response', (r) => {
  const u = new URL(r.url());
  if (r.status() >= 500 || (r.status() >= 400 && u.pathname.startsWith('/admin/'))) problems.push(`${r.status()} ${u.pathname}`);
});

let failed = 0;
async function step(name, fn) {
  const t0 = Date.now();
  try {
    const note = await fn();
    console.log(`ok   ${name} (${Date.now() - t0} ms)${note ? ' — ' + note : ''}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${(e && e.message ? e.message : String(e)).split('\n').slice(0, 4).join(' | ')}`);
    await page.screenshot({ path: join(artifacts, `FAIL-${name.replace(/\W+/g, '-')}.png`), fullPage: true }).catch(() => {});
  }
}

const title = 'Desktop smoke ' + Date.now().toString(36);
let id = '';
try {
  await step('the editor opens signed in as the local user', async () => {
    await page.goto(base + '/admin/');
    await page.getByRole('heading', { name: 'Content', level: 1 }).waitFor();
    await page.getByText('admin', { exact: true }).first().waitFor();
    await page.screenshot({ path: join(artifacts, 'smoke-content.png') });
  });
  await step('write an article and save it', async () => {
    await page.getByLabel('New', { exact: true }).selectOption('article');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: /New Article/ }).waitFor();
    await page.getByLabel('Headline').fill(title);
    await page.getByLabel('Status').selectOption('published');
    await page.keyboard.press('Control+s');
    await page.waitForURL(/\/admin\/content\/[0-9a-f-]{36}$/);
    id = page.url().split('/').pop();
    await page.screenshot({ path: join(artifacts, 'smoke-saved.png') });
    return id;
  });
  await step('the content list finds it', async () => {
    await page.getByRole('link', { name: 'Content', exact: true }).click();
    await page.getByLabel('Search').fill(title);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('link', { name: title }).waitFor();
  });
  await step('the stage switcher lists live', async () => {
    const opts = await page.locator('#stage-select option').allTextContents();
    if (!opts.some((o) => /live/i.test(o))) throw new Error('no live stage in the switcher: ' + opts.join(', '));
  });
  await step('the site shows the article', async () => {
    const res = await page.goto(`${base}/item/${id}`);
    if (!res || res.status() !== 200) throw new Error('status ' + (res && res.status()));
    await page.getByRole('heading', { name: title }).waitFor();
    await page.screenshot({ path: join(artifacts, 'smoke-site.png') });
  });
  if (syncStage) {
    await step('the Sync screen shows the state and a refused push side by side', async () => {
      await page.goto(base + '/admin/sync');
      await page.getByRole('heading', { name: 'Sync', level: 1 }).waitFor();
      await page.locator('[data-sync-state]').waitFor();
      await page.getByLabel('Stage', { exact: true }).last().selectOption(syncStage);
      await page.getByRole('button', { name: 'Push stage' }).click();
      const region = page.getByRole('region', { name: `Push conflicts of stage ${syncStage}` });
      await region.locator('table.diff').first().waitFor();
      const text = await region.innerText();
      if (!/On the server \(theirs\)/.test(text) || !/On this computer \(mine\)/.test(text)) throw new Error('no side-by-side diff: ' + text.slice(0, 300));
      await page.screenshot({ path: join(artifacts, 'smoke-sync-conflicts.png'), fullPage: true });
      return (await region.locator('article.conflict').count()) + ' conflicts';
    });
    await step('keep mine for each conflict, then the push is applied', async () => {
      const region = page.getByRole('region', { name: `Push conflicts of stage ${syncStage}` });
      while (await region.count()) {
        await region.getByRole('button', { name: /^Keep mine/ }).first().click();
        await page.waitForTimeout(200);
      }
      await page.getByRole('button', { name: 'Push stage' }).click();
      await page.getByText(`Pushed stage ${syncStage}`).first().waitFor();
      await page.screenshot({ path: join(artifacts, 'smoke-sync-pushed.png'), fullPage: true });
    });
  }
  await step('no console errors or CSP violations', async () => {
    if (problems.length) throw new Error(problems.join('; '));
  });
} finally {
  await browser.close();
}
console.log(failed ? `${failed} failed` : 'all passed');
process.exit(failed ? 1 : 0);
