// Browser suite for the editor: Debian's Chromium driven by playwright-core
// against a running site + API + editor (server/admin/e2e_test.go starts
// one on a fresh database with the demo loaded).
//
//   node e2e/run.mjs http://127.0.0.1:PORT
//
// Environment: TROVATO_E2E_USER / TROVATO_E2E_PASSWORD (sign in through
// the UI), or TROVATO_E2E_SESSION (a session cookie, when the site has no
// sign-in page), TROVATO_E2E_ARTIFACTS (screenshots; default
// ../artifacts/editor). Every screen is checked with axe-core (serious and
// critical violations fail). Prints "N passed, N failed" and a JSON
// summary line; exits non-zero on a failure.
import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const base = (process.argv[2] || process.env.TROVATO_E2E_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
const user = process.env.TROVATO_E2E_USER || 'admin';
const password = process.env.TROVATO_E2E_PASSWORD || '';
const sessionCookie = process.env.TROVATO_E2E_SESSION || '';
const artifacts = process.env.TROVATO_E2E_ARTIFACTS || join(here, '..', '..', 'artifacts', 'editor');
mkdirSync(artifacts, { recursive: true });
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const results = [];
const problems = []; // console errors and CSP violations
const started = Date.now();
const stamp = Date.now().toString(36);

async function step(name, fn, { optional = false } = {}) {
  const t0 = Date.now();
  let timer;
  try {
    const note = await Promise.race([fn(), new Promise((_, rej) => { timer = setTimeout(() => rej(new Error('step timed out after 60 s')), 60000); })]);
    clearTimeout(timer);
    results.push({ name, ok: true, ms: Date.now() - t0, note });
    console.log(`ok   ${name} (${Date.now() - t0} ms)${note ? ' — ' + note : ''}`);
    return true;
  } catch (e) {
    clearTimeout(timer);
    const msg = (e && e.message ? e.message : String(e)).split('\n').slice(0, 6).join('\n     ');
    if (optional) {
      results.push({ name, ok: true, skipped: true, ms: Date.now() - t0, note: msg });
      console.log(`skip ${name}: ${msg}`);
      return false;
    }
    results.push({ name, ok: false, ms: Date.now() - t0, error: msg });
    console.log(`FAIL ${name}: ${msg}`);
    try { await page.screenshot({ path: join(artifacts, `FAIL-${name.replace(/\W+/g, '-')}.png`), fullPage: true }); } catch { /* none */ }
    return false;
  }
}

async function axe(label) {
  await page.evaluate(axeSource);
  const r = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const res = await axe.run(document, { resultTypes: ['violations'] });
    return res.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const bad = r.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const minor = r.filter((v) => !bad.includes(v));
  if (minor.length) console.log(`     axe (${label}): minor: ${minor.map((v) => `${v.id}@${v.nodes[0]}`).join(', ')}`);
  if (bad.length) throw new Error(`axe on ${label}: ` + bad.map((v) => `${v.impact} ${v.id} (${v.help}) at ${v.nodes.join(' | ')}`).join('; '));
}

async function shot(name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

async function screen(name) {
  await page.waitForLoadState('networkidle').catch(() => {});
  await shot(name);
  await axe(name);
}

async function announced(re, timeout = 10000) {
  await page.waitForFunction((src) => {
    const r = new RegExp(src, 'i');
    return [...document.querySelectorAll('[role=status], [role=alert]')].some((e) => r.test(e.textContent || ''));
  }, re.source, { timeout });
}

async function api(path, init = {}) {
  return page.evaluate(async ([path, init]) => {
    const s = await (await fetch('/api/v1/session')).json();
    const res = await fetch('/api/v1' + path, {
      ...init, headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf_token, ...(init.headers || {}) },
    });
    const text = await res.text();
    let body = text;
    try { body = JSON.parse(text); } catch { /* html */ }
    return { status: res.status, body };
  }, [path, init]);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
const page = await context.newPage();
page.setDefaultTimeout(15000);
page.on('console', (m) => {
  const t = m.text();
  if (/Content Security Policy|Refused to/i.test(t)) problems.push('CSP: ' + t);
  // Failed requests are judged by the response listener (with their URL);
  // the page preview frame is sandboxed without scripts on purpose.
  else if (m.type() === 'error' && !/^Failed to load resource|Blocked script execution in 'about:srcdoc'/.test(t)) problems.push('console: ' + t);
});
page.on('response', (r) => {
  const u = new URL(r.url());
  const expected = (r.status() === 404 && u.pathname === '/api/v1/render') || r.status() === 409 ||
    (r.status() === 401 && (u.pathname === '/api/v1/session' || u.pathname === '/user/login')) ||
    (r.status() === 403 && u.pathname.startsWith('/api/v1/')) ||
    (r.status() === 404 && /\/draft$/.test(u.pathname)) || (r.status() === 422 || r.status() === 400) && r.request().method() !== 'GET';
  if (r.status() >= 400 && !expected) problems.push(`HTTP ${r.status()} ${r.request().method()} ${u.pathname}${u.search}`);
});
page.on('pageerror', (e) => problems.push('page error: ' + e.message));
page.on('request', (r) => {
  const u = new URL(r.url());
  if (u.origin !== new URL(base).origin && !u.protocol.startsWith('data')) problems.push('request to another host: ' + r.url());
});

let articleTitle = `E2E article ${stamp}`;
let articleID = '';
let liveItem = null;
const stageLabel = `E2E spring ${stamp}`;
const stageName = `e2e-spring-${stamp}`;
const STAGED = ` (staged ${stamp})`;

try {
  await step('sign in', async () => {
    await page.goto(base + '/admin/');
    if (sessionCookie) {
      await screen('signin');
      await context.addCookies([{ name: 'trovato_session', value: sessionCookie, url: base }]);
      await page.goto(base + '/admin/content');
    } else {
      await page.getByLabel('User name').waitFor();
      await screen('signin');
      // A wrong password is refused at the form.
      await page.getByLabel('User name').fill(user);
      await page.getByLabel('Password').fill('not-the-password-1');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('#signin-error').waitFor();
      await page.getByLabel('Password').fill(password);
      await page.getByLabel('Password').press('Enter');
    }
    await page.getByRole('heading', { name: 'Content', level: 1 }).waitFor();
    return sessionCookie ? 'the site has no sign-in page yet: started from a session cookie' : 'through the sign-in form';
  });

  await step('content list', async () => {
    await page.locator('table.list tbody tr').first().waitFor();
    const n = await page.locator('table.list tbody tr').count();
    if (n < 1) throw new Error('the demo content is not listed');
    await page.getByLabel('Type').selectOption('article');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForFunction(() => document.querySelector('.result-count')?.textContent?.match(/\d+ items?/));
    await screen('content-list');
    return `${n} rows, filtered by type`;
  });

  await step('create an article with a Markdown body', async () => {
    await page.getByLabel('New', { exact: true }).selectOption('article');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: /New Article/ }).waitFor();
    await page.getByLabel('Headline').fill(articleTitle);
    const body = page.locator('[data-field=body] .cm-content');
    await body.waitFor();
    await body.click();
    // A fast typist's pace (CodeMirror reads DOM input events).
    await page.keyboard.type('## Spring notes\n\nThe **first** warm day.\n\n- tulips\n- crocus\n', { delay: 25 });
    // The server renders the Markdown beside the source.
    await page.locator('[data-field=body] .rendered h2', { hasText: 'Spring notes' }).waitFor();
    // A tag: the multi-value list grows, the picker lists the vocabulary.
    await page.getByRole('button', { name: /Add a value/ }).click();
    const tag = page.locator('[data-field=tags] select').first();
    await tag.locator('option').nth(1).waitFor({ state: 'attached' });
    await tag.selectOption({ index: 1 });
    const cats = page.locator('[data-field=category] select');
    if (await cats.count()) {
      const opts = await cats.locator('option').count();
      if (opts > 1) await cats.selectOption({ index: 1 });
    }
    // An image with alternative text.
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
    await page.locator('[data-field=image] input[type=file]').setInputFiles({ name: 'tulips.png', mimeType: 'image/png', buffer: png });
    await page.getByRole('textbox', { name: 'Alternative text' }).fill('Red tulips in a row');
    await page.getByLabel('Status').selectOption('published');
    await screen('editor-new');
    await page.keyboard.press('Control+s');
    await announced(/^Saved /);
    await page.waitForURL(/\/admin\/content\/[0-9a-f-]{36}$/);
    articleID = page.url().split('/').pop();
    const r = await api('/items/' + articleID);
    if (r.status !== 200 || r.body.title !== articleTitle) throw new Error('the API does not have the article: ' + JSON.stringify(r).slice(0, 300));
    if (!String(r.body.fields?.body || '').includes('**first**')) throw new Error('the Markdown body was not saved: ' + JSON.stringify(r.body.fields));
    if (!Array.isArray(r.body.fields?.tags) || r.body.fields.tags.length !== 1) throw new Error('the tag was not saved: ' + JSON.stringify(r.body.fields?.tags));
    if (r.body.fields?.image?.alt !== 'Red tulips in a row') throw new Error('the image was not saved with its alt text: ' + JSON.stringify(r.body.fields?.image));
    await screen('editor-saved');
    return articleID;
  });

  await step('validation errors show at the field', async () => {
    await page.getByLabel('Headline').fill('');
    await page.keyboard.press('Control+s');
    await page.locator('.error-summary').waitFor();
    await page.locator('#ed-title-err').waitFor();
    const focused = await page.evaluate(() => document.activeElement?.className || '');
    if (!focused.includes('error-summary')) throw new Error('focus did not move to the error summary');
    await screen('editor-errors');
    await page.getByLabel('Headline').fill(articleTitle);
    await page.keyboard.press('Control+s');
    await announced(/^Saved /);
  });

  await step('an upload whose content does not match its type is refused', async () => {
    await page.locator('[data-field=image] input[type=file]').setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: Buffer.from('this is not a picture\n') });
    await page.waitForTimeout(300);
    await page.keyboard.press('Control+s');
    await page.locator('[data-field=image] .field-errors, [data-field=image] .error').first().waitFor();
    const msg = await page.locator('[data-field=image] .field-errors, [data-field=image] .error').first().innerText();
    await screen('editor-bad-upload');
    // Put the real image back.
    await page.goto(page.url());
    return msg;
  }, { optional: true });

  await step('find it in the list', async () => {
    await page.getByRole('link', { name: 'Content', exact: true }).click();
    await page.getByLabel('Search').fill(articleTitle);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('link', { name: articleTitle }).waitFor();
    await screen('content-search');
  });

  await step('revisions with diff', async () => {
    await page.getByRole('link', { name: articleTitle }).click();
    await page.getByRole('link', { name: 'Revisions' }).click();
    await page.getByRole('heading', { name: 'Revisions' }).waitFor();
    await page.locator('table.list tbody tr').nth(1).waitFor();
    await page.locator('table.diff, .diff + p, section[aria-label=Differences]').first().waitFor();
    await screen('revisions');
  });

  await step('open a stage, edit a live item in it', async () => {
    const items = await api('/items?type=article&limit=5');
    liveItem = items.body.items.find((i) => i.id !== articleID);
    if (!liveItem) throw new Error('no demo article to edit');
    await page.getByRole('link', { name: 'Stages', exact: true }).click();
    await page.getByLabel('Label').fill(stageLabel);
    await page.getByLabel('Machine name').fill(stageName);
    await page.getByRole('button', { name: 'Create stage' }).click();
    await announced(/created/);
    if ((await page.locator('#stage-select').inputValue()) !== stageName) throw new Error('the stage switcher did not switch to the new stage');
    await screen('stages');
    await page.goto(`${base}/admin/content/${liveItem.id}`);
    await page.getByText(`Editing in ${stageLabel}`).waitFor();
    await page.getByLabel('Headline').fill(liveItem.title + STAGED);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await announced(/^Saved /);
    await screen('editor-staged');
    // Live is unchanged; the stage shows the edit.
    const live = await api('/items/' + liveItem.id);
    if (live.body.title !== liveItem.title) throw new Error('live changed: ' + live.body.title);
    const st = await api(`/items/${liveItem.id}?stage=${stageName}`);
    if (st.body.title !== liveItem.title + STAGED) throw new Error('the stage does not show the edit: ' + st.body.title);
    const anon = await browser.newContext();
    const p2 = await anon.newPage();
    const res = await p2.goto(`${base}/item/${liveItem.id}`);
    const html = await p2.content();
    await anon.close();
    if (res.status() >= 400 && res.status() !== 404) throw new Error('live page: ' + res.status());
    if (html.includes(STAGED)) throw new Error('the live site shows the staged edit');
    const prev = await api(`/stages/${stageName}/preview?path=${encodeURIComponent('/item/' + liveItem.id)}`);
    if (prev.status === 200 && typeof prev.body === 'string' && !prev.body.includes(STAGED)) throw new Error('the stage preview lacks the edit');
  });

  await step('page preview of the stage', async () => {
    await page.getByRole('button', { name: 'Preview page' }).click();
    await page.locator('.page-preview iframe').waitFor();
    const src = await page.locator('.page-preview iframe').getAttribute('srcdoc');
    if (!src || !src.includes(STAGED)) throw new Error('the preview does not show the staged title');
    await screen('page-preview');
  }, { optional: true });

  await step('review and publish the stage', async () => {
    await page.getByRole('link', { name: 'Review & publish' }).click();
    await page.getByRole('heading', { name: /Review stage/ }).waitFor();
    await page.locator('.changes li').first().waitFor();
    const toggle = page.getByRole('button', { name: /Show differences/ }).first();
    if (await toggle.count()) await toggle.click();
    await screen('stage-review');
    await page.getByRole('button', { name: 'Check for conflicts' }).click();
    await announced(/Check passed|need a decision/);
    await page.getByRole('button', { name: 'Publish to live' }).click();
    await page.locator('.publish-result .ok', { hasText: 'Published' }).waitFor();
    await announced(/Published/);
    await screen('stage-published');
    const live = await api('/items/' + liveItem.id);
    if (live.body.title !== liveItem.title + STAGED) throw new Error('live does not have the published edit: ' + live.body.title);
    if ((await page.locator('#stage-select').inputValue()) !== 'live') throw new Error('the switcher still names the published stage');
  });

  await step('a conflict from two browsers, resolved per item', async () => {
    // Two editors open the same live item; the second saves first.
    const other = await browser.newContext({ viewport: { width: 1024, height: 768 } });
    await other.addCookies(await context.cookies());
    const p2 = await other.newPage();
    await page.goto(`${base}/admin/content/${articleID}`);
    await page.getByLabel('Headline').waitFor();
    await p2.goto(`${base}/admin/content/${articleID}`);
    await p2.getByLabel('Headline').fill(articleTitle + ' (theirs)');
    await p2.keyboard.press('Control+s');
    await p2.locator('#live-polite', { hasText: 'Saved' }).waitFor();
    await other.close();
    await page.getByLabel('Headline').fill(articleTitle + ' (mine)');
    await page.keyboard.press('Control+s');
    await page.getByRole('button', { name: /Keep mine/ }).waitFor();
    await screen('editor-conflict');
    await page.getByRole('button', { name: /Keep mine/ }).click();
    await announced(/^Saved /);
    const r = await api('/items/' + articleID);
    if (r.body.title !== articleTitle + ' (mine)') throw new Error('mine was not kept: ' + r.body.title);
  });

  await step('publish with a conflict, resolved per item', async () => {
    // Stage B edits the article; then live changes under it.
    const name = `e2e-conflict-${stamp}`;
    const st = await api('/stages', { method: 'POST', body: JSON.stringify({ name, label: `E2E conflict ${stamp}` }) });
    if (st.status !== 201) throw new Error('stage: ' + JSON.stringify(st.body));
    const cur = (await api('/items/' + articleID)).body;
    const a = await api(`/items/${articleID}?stage=${name}`, { method: 'PATCH', body: JSON.stringify({ base_revision_id: cur.revision_id, title: articleTitle + ' (stage B)' }) });
    if (a.status !== 200) throw new Error('stage edit: ' + JSON.stringify(a.body));
    const b = await api(`/items/${articleID}`, { method: 'PATCH', body: JSON.stringify({ base_revision_id: cur.revision_id, title: articleTitle + ' (live moved)' }) });
    if (b.status !== 200) throw new Error('live edit: ' + JSON.stringify(b.body));
    await page.goto(`${base}/admin/stages/${name}`);
    await page.locator('.changes li').first().waitFor();
    await page.getByRole('button', { name: 'Publish to live' }).click();
    await page.getByRole('radiogroup').first().waitFor();
    await screen('stage-conflict');
    const mine = page.getByRole('radio', { name: /Publish mine/ });
    for (let i = 0; i < await mine.count(); i++) await mine.nth(i).check();
    await page.getByRole('button', { name: 'Publish to live' }).click();
    await page.locator('.publish-result .ok', { hasText: 'Published' }).waitFor();
    const live = await api('/items/' + articleID);
    if (live.body.title !== articleTitle + ' (stage B)') throw new Error('mine did not win: ' + live.body.title);
  });

  await step('releases and rollback', async () => {
    await page.getByRole('link', { name: 'Releases', exact: true }).click();
    await page.locator('table.list tbody tr').first().waitFor();
    await screen('releases');
    page.once('dialog', (d) => d.accept());
    await page.getByRole('button', { name: /Roll back/ }).first().click();
    await announced(/rolled back/);
    // The newest release is the conflicted publish: live goes back to
    // the title it had before it.
    const live = await api('/items/' + articleID);
    if (live.body.title !== articleTitle + ' (live moved)') throw new Error('the rollback did not restore live: ' + live.body.title);
  });

  await step('menus: keyboard reorder', async () => {
    await page.getByRole('link', { name: 'Menus', exact: true }).click();
    await page.locator('.menu-row').first().waitFor();
    await screen('menus');
    const rows = page.locator('.menu-row');
    if ((await rows.count()) < 2) return 'fewer than two links';
    const first = await rows.nth(0).locator('.menu-title').textContent();
    await rows.nth(0).locator('.move-down').focus();
    await page.keyboard.press('Enter');
    const second = await page.locator('.menu-row').nth(1).locator('.menu-title').textContent();
    if (second !== first) throw new Error(`"${first}" did not move down (now second: "${second}")`);
    await page.getByRole('button', { name: 'Save order' }).click();
    await announced(/Menu order saved|Menu not saved/);
    const saved = await page.locator('#live-polite, #live-assertive').allTextContents();
    if (!saved.join(' ').includes('saved in')) throw new Error('menu not saved: ' + saved.join(' '));
  });

  await step('categories', async () => {
    await page.getByRole('link', { name: 'Categories', exact: true }).click();
    await page.getByRole('heading', { name: 'Categories', level: 1 }).waitFor();
    const first = page.locator('ul.tabs a').first();
    if (await first.count()) { await first.click(); await page.locator('ul.tree li').first().waitFor(); }
    await screen('categories');
  });

  await step('administration screens', async () => {
    await page.getByRole('link', { name: 'Admin', exact: true }).click();
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    await page.locator('table.list tbody tr').first().waitFor();
    await screen('admin-users');
    const notes = [];
    for (const [tab, shotName] of [['Permissions', 'admin-permissions'], ['API tokens', 'admin-tokens'], ['Audit log', 'admin-audit'], ['Plugins', 'admin-plugins']]) {
      await page.getByRole('navigation', { name: 'Administration' }).getByRole('link', { name: tab }).click();
      await page.getByRole('heading', { name: tab, level: 1 }).waitFor();
      await page.waitForFunction(() => !document.querySelector('main [role=status]'));
      const err = await page.locator('main .error').allTextContents();
      if (err.length) notes.push(`${tab}: ${err.join(' ')}`);
      await screen(shotName);
    }
    // Create a token: shown once.
    await page.getByRole('navigation', { name: 'Administration' }).getByRole('link', { name: 'API tokens' }).click();
    await page.getByLabel('Name').fill('e2e ' + stamp);
    const perm = (await api('/permissions?limit=1')).body.items[0].name;
    await page.getByLabel('Permissions').fill(perm);
    await page.getByRole('button', { name: 'Create token' }).click();
    await announced(/Token created|Token not created/);
    const t = await page.locator('#live-polite, #live-assertive').allTextContents();
    if (t.join(' ').includes('not created')) notes.push('token: ' + t.join(' '));
    else await page.locator('code.token').waitFor();
    return notes.join('; ');
  });

  await step('keyboard only: skip link and visible focus', async () => {
    await page.goto(base + '/admin/content');
    await page.getByRole('heading', { name: 'Content', level: 1 }).waitFor();
    await page.keyboard.press('Tab');
    const skip = await page.evaluate(() => document.activeElement?.textContent);
    if (!/Skip to content/.test(skip || '')) throw new Error('the first Tab does not reach the skip link: ' + skip);
    await page.keyboard.press('Tab');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    if (outline === 'none') throw new Error('focus is not visible');
  });
} finally {
  await step('no console errors, CSP violations or foreign requests', async () => {
    if (problems.length) throw new Error(problems.slice(0, 8).join('\n'));
  });
  await browser.close();
}

const failed = results.filter((r) => !r.ok).length;
const skipped = results.filter((r) => r.skipped).length;
const passed = results.length - failed - skipped;
writeFileSync(join(artifacts, 'results.json'), JSON.stringify({ base, seconds: (Date.now() - started) / 1000, results }, null, 2));
console.log(`E2E-SUMMARY ${JSON.stringify({ passed, failed, skipped, seconds: Math.round((Date.now() - started) / 1000) })}`);
console.log(`e2e: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed ? 1 : 0);
