// xss.mjs INPUT.json: loads pages of rendered XSS vectors in headless
// Chromium and reports every sign that content escaped the sanitizer.
//
// INPUT.json: {"parallel": 3, "settle_ms": 100, "head": {"meta": 3, "link": 2, "style": 0},
//   "pages": [{"url": "http://127.0.0.1:PORT/xss/0", "markers": ["m-0", "m-1", ...],
//              "groups": [{"name", "selector", "markers": ["text", ...]} | {"name", "selector", "items": N}],
//              "head": {...}}]}
// Each marker is an element with data-xss-marker and that id, placed by
// the page around one rendered vector. Groups are for pages of the real
// site: each vector is followed, in the same field, by a paragraph with
// a marker text, or is one item of a list field. "head" counts the meta,
// link and style elements the page template itself puts in <head>.
//
// Output on stdout: {"pages": [{"url", "problems": [...]}], "aborted": N}.
// A problem is a string naming the marker (vector) it was found in.
// The pages load with the CSP bypassed (the check is about the
// sanitizer, not the CSP) and every non-loopback request aborted.
import { readFileSync } from 'node:fs';
import { launch, blockRemote, readArgs } from './browser.mjs';

const input = JSON.parse(readFileSync(readArgs(), 'utf8'));
const settle = input.settle_ms ?? 100;

// Installed before any page script: the dialog functions record their
// calls instead of opening, and set the window.__xss sentinel.
function hook() {
  const calls = [];
  Object.defineProperty(window, '__xssCalls', { value: calls });
  for (const name of ['alert', 'confirm', 'prompt', 'print']) {
    const f = function (...args) {
      calls.push(`${name}(${args.map((a) => String(a)).join(',').slice(0, 80)})`);
      window.__xss = (window.__xss || 0) + 1;
      return name === 'confirm' ? false : name === 'prompt' ? null : undefined;
    };
    try {
      Object.defineProperty(window, name, { value: f, writable: false, configurable: false });
    } catch {
      window[name] = f;
    }
  }
}

// inspect runs in the page after load.
function inspect({ markers, head, groups }) {
  const problems = [];
  const forbidden = new Set(['SCRIPT', 'IFRAME', 'OBJECT', 'EMBED', 'BASE', 'META', 'LINK', 'STYLE', 'FRAME', 'FRAMESET', 'APPLET']);
  const urlAttrs = new Set(['href', 'src', 'action', 'formaction', 'poster', 'srcset', 'cite', 'data', 'background',
    'xlink:href', 'lowsrc', 'dynsrc', 'codebase', 'longdesc', 'ping', 'manifest', 'icon', 'imagesrcset', 'archive']);
  const rasterData = /^data:image\/(png|jpeg|jpg|gif|webp|avif)[;,]/;
  const checkElement = (el, where) => {
    const tag = el.tagName.toUpperCase();
    if (forbidden.has(tag)) problems.push(`${where}: <${tag.toLowerCase()}> element`);
    for (const a of el.attributes) {
      const name = a.name.toLowerCase();
      if (name.startsWith('on')) problems.push(`${where}: handler attribute ${name} on <${tag.toLowerCase()}>`);
      if (name === 'style' || name === 'srcdoc') problems.push(`${where}: ${name} attribute on <${tag.toLowerCase()}>`);
      if (urlAttrs.has(name)) {
        // eslint-disable-next-line no-control-regex
        const v = a.value.replace(/[\s\u0000-\u001f\u007f]+/g, '').toLowerCase();
        if (v.startsWith('javascript:') || v.startsWith('vbscript:')) {
          problems.push(`${where}: ${name}="${a.value.slice(0, 60)}" on <${tag.toLowerCase()}>`);
        } else if (v.startsWith('data:') && !(tag === 'IMG' && name === 'src' && rasterData.test(v))) {
          problems.push(`${where}: data URL in ${name} on <${tag.toLowerCase()}>`);
        }
      }
    }
  };

  // The markers: all present, in order, siblings, none inside another.
  const found = Array.from(document.querySelectorAll('[data-xss-marker]'));
  const ids = found.map((m) => m.id);
  if (found.length !== markers.length) problems.push(`page: ${found.length} markers, want ${markers.length}`);
  const parent = found.length ? found[0].parentElement : null;
  const byID = new Map(found.map((m) => [m.id, m]));
  for (let i = 0; i < markers.length; i++) {
    const m = byID.get(markers[i]);
    if (!m) {
      problems.push(`${markers[i]}: marker missing (swallowed by an earlier vector?)`);
      continue;
    }
    if (ids[i] !== markers[i]) problems.push(`${markers[i]}: marker out of order (found ${ids[i]} at its place)`);
    if (m.parentElement !== parent) problems.push(`${markers[i]}: marker moved out of the content (parent <${m.parentElement && m.parentElement.tagName.toLowerCase()}>)`);
    if (m.querySelector('[data-xss-marker]')) problems.push(`${markers[i]}: holds another marker (vector left an element open)`);
    for (const el of m.querySelectorAll('*')) checkElement(el, markers[i]);
  }

  // Groups (pages of the real site): marker paragraphs the content put
  // after each vector, which must stand as direct children of their
  // field, and lists whose items must all be there.
  for (const g of groups) {
    const box = document.querySelector(g.selector);
    if (!box) {
      problems.push(`${g.name}: no ${g.selector} on the page`);
      continue;
    }
    if (g.markers) {
      const kids = new Set();
      for (const el of box.children) if (el.tagName === 'P') kids.add(el.textContent.trim());
      const anywhere = new Set(Array.from(document.querySelectorAll('p')).map((el) => el.textContent.trim()));
      for (const m of g.markers) {
        if (kids.has(m)) continue;
        problems.push(anywhere.has(m) ? `${g.name}/${m}: marker moved out of the content (not a child of ${g.selector})` : `${g.name}/${m}: marker missing (swallowed by an earlier vector?)`);
      }
    }
    if (g.items !== undefined) {
      const n = box.querySelectorAll(':scope > ul > li, :scope > ol > li').length || (box.querySelector('a') ? 1 : 0);
      if (n !== g.items) problems.push(`${g.name}: ${n} items, want ${g.items} (markers missing)`);
    }
  }

  // The rest of the page: only the template's own head tags and scripts.
  let last = 'page';
  for (const el of document.querySelectorAll('*')) {
    if (el.hasAttribute('data-xss-marker')) last = el.id;
    if (el.closest('[data-xss-marker]')) continue;
    const tag = el.tagName.toUpperCase();
    const inHead = el.parentElement === document.head;
    if (tag === 'SCRIPT') {
      const src = el.getAttribute('src') || '';
      if (!src.startsWith('/assets/') || el.textContent.trim() !== '') problems.push(`page: <script src="${src.slice(0, 60)}"> not from the theme`);
      continue;
    }
    if ((tag === 'META' || tag === 'LINK' || tag === 'STYLE') && inHead) continue;
    checkElement(el, `${last}: outside the markers, after it`);
  }
  for (const tag of ['meta', 'link', 'style']) {
    const n = document.head.querySelectorAll(`:scope > ${tag}`).length;
    if (n !== (head[tag] || 0)) problems.push(`page: ${n} <${tag}> in head, the template has ${head[tag] || 0}`);
  }
  if (window.__xss) problems.push(`page: window.__xss = ${window.__xss}`);
  for (const c of window.__xssCalls) problems.push(`page: script ran: ${c}`);
  return problems;
}

const watchdog = setTimeout(() => {
  console.error('xss.mjs: time limit reached');
  process.exit(3);
}, (input.timeout_s ?? 240) * 1000);

const browser = await launch();
const aborted = [];
try {
  const context = await browser.newContext({ bypassCSP: true, javaScriptEnabled: true, viewport: { width: 1024, height: 768 } });
  await context.addInitScript(hook);
  await blockRemote(context, aborted);
  // One tab per worker, reused from page to page (a new tab costs a
  // renderer process).
  const parallel = Math.max(1, Math.min(input.parallel ?? 3, input.pages.length));
  const queue = input.pages.map((p, i) => [p, i]);
  const pages = new Array(input.pages.length);
  async function worker() {
    let page = null;
    let problems = [];
    const open = async () => {
      page = await context.newPage();
      page.on('dialog', async (d) => {
        problems.push(`page: a ${d.type()} dialog opened: ${d.message().slice(0, 80)}`);
        await d.dismiss().catch(() => {});
      });
      page.on('popup', (pp) => {
        problems.push(`page: a popup opened: ${pp.url().slice(0, 80)}`);
        pp.close().catch(() => {});
      });
    };
    while (queue.length) {
      const [p, i] = queue.shift();
      if (!page) await open();
      problems = [];
      const mine = problems;
      const t0 = Date.now();
      try {
        const res = await page.goto(p.url, { waitUntil: 'load', timeout: 30_000 });
        if (!res || res.status() !== 200) mine.push(`page: status ${res ? res.status() : 'none'}`);
        await page.waitForTimeout(settle);
        if (page.url() !== p.url) mine.push(`page: navigated away to ${page.url().slice(0, 80)}`);
        else mine.push(...(await page.evaluate(inspect, { markers: p.markers || [], head: p.head || input.head || {}, groups: p.groups || [] })));
      } catch (e) {
        mine.push(`page: ${String(e && e.message ? e.message : e).split('\n')[0]}`);
        await page.close().catch(() => {});
        page = null; // start the next page in a fresh tab
      }
      pages[i] = { url: p.url, problems: mine, ms: Date.now() - t0 };
    }
    if (page) await page.close().catch(() => {});
  }
  await Promise.all(Array.from({ length: parallel }, worker));
  process.stdout.write(JSON.stringify({ pages, aborted: aborted.length }) + '\n');
} finally {
  clearTimeout(watchdog);
  await browser.close();
}
