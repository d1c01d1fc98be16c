// Run by the desktop app after every page load when
// TROVATO_DESKTOP_TEST_SCRIPT names this file (desktop/window_test.go).
// In the editor it creates a stage and an article in it through the API
// with the editor's own session and CSRF token, selects the stage for
// preview and opens the article's page; on that page it reports what the
// site showed. Progress goes to /_desktop/report; "quit" ends the app.
(async () => {
  const report = (o) => fetch('/_desktop/report', { method: 'POST', body: JSON.stringify(o) });
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const ss = window.sessionStorage;
  const key = 'trovato-desktop-test';
  try {
    if (location.pathname.startsWith('/admin')) {
      if (ss.getItem(key)) return;
      ss.setItem(key, 'started');
      let h1 = null;
      for (let i = 0; i < 150 && !(h1 = document.querySelector('h1')); i++) await sleep(100);
      await report({ step: 'editor', path: location.pathname, heading: h1 ? h1.textContent : '' });
      await sleep(1500); // the screenshot
      const s = await (await fetch('/api/v1/session')).json();
      const h = { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf_token };
      const title = 'Written offline ' + Date.now().toString(36);
      let r = await fetch('/api/v1/stages', { method: 'POST', headers: h, body: JSON.stringify({ name: 'desktop-test', label: 'Desktop test' }) });
      if (r.status !== 201) throw new Error('create stage: ' + r.status + ' ' + (await r.text()));
      r = await fetch('/api/v1/items?stage=desktop-test', { method: 'POST', headers: h, body: JSON.stringify({ type: 'article', title, status: 'published' }) });
      if (r.status !== 201) throw new Error('create item: ' + r.status + ' ' + (await r.text()));
      const it = await r.json();
      r = await fetch('/api/v1/session/preview', { method: 'PUT', headers: h, body: JSON.stringify({ stage: 'desktop-test' }) });
      if (r.status !== 200) throw new Error('preview stage: ' + r.status + ' ' + (await r.text()));
      ss.setItem(key, JSON.stringify({ id: it.id, title }));
      await report({ step: 'created', id: it.id, title, user: s.user && s.user.name });
      location.href = '/item/' + it.id;
      return;
    }
    if (document.querySelector('meta[http-equiv=refresh]')) return; // a redirect on its way
    const st = JSON.parse(ss.getItem(key) || 'null');
    if (!st || !st.id) return;
    await report({
      step: 'preview', path: location.pathname, title: document.title,
      heading: (document.querySelector('h1') || {}).textContent || '',
      hasTitle: document.body.innerText.includes(st.title),
      banner: !!document.querySelector('a[href="/_preview/exit"], form[action="/_preview/exit"]'),
    });
    await sleep(1500); // the screenshot
    await report({ step: 'done', quit: true });
  } catch (e) {
    await report({ step: 'error', error: String(e && e.message ? e.message : e), quit: true });
  }
})();
