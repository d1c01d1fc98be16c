// Gathers (stored listings) and tiles (content placed in theme regions),
// both config documents. A gather is edited as rows of filters, sorts and
// displays and previewed unsaved (POST /gather-preview) before it is
// saved; keys this form does not show (relationships, exposed filters…)
// are kept as they are. Tiles are read and written through the config
// API (/config/tile), saved with the version they were read at.
import { useEffect, useState } from 'preact/hooks';
import * as api from '../api';
import { announce } from '../announce';
import { linkProps, navigate } from '../router';
import { stageParam, useApp } from '../state';
import { StructureNav } from './types';

type Doc = Record<string, any>;
interface Stored { name: string; version: number; body: Doc }

const OPS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'contains', 'in', 'not_in', 'empty', 'not_empty', 'category', 'search'];
const PROPS = ['title', 'status', 'created', 'changed', 'author', 'promote', 'sticky', 'language', 'type', 'id'];
const REGIONS = ['header', 'navigation', 'highlighted', 'content', 'sidebar', 'footer'];

function stored(d: any): Stored { return { name: d.name, version: d.version ?? 0, body: d.body && typeof d.body === 'object' ? d.body : d }; }

function errorList(e: api.ApiError | null) {
  if (!e) return null;
  return (
    <div class="error-summary" role="alert" tabIndex={-1} id="doc-errors">
      <p>{e.message}</p>
      {e.fields.length > 0 && <ul>{e.fields.map((f) => <li><code>{f.path}</code>: {f.message}</li>)}</ul>}
    </div>
  );
}

export function GathersList() {
  const [rows, setRows] = useState<Stored[] | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    api.all('/gathers').then((d) => setRows(d.map(stored)), (e: api.ApiError) => { setRows([]); setError(e.status === 403 ? 'You may not change gathers.' : e.message); });
  }, []);
  return (
    <section>
      <div class="screen-head"><h1>Gathers</h1><a class="button primary" {...linkProps('/gathers/new')}>New gather</a></div>
      <StructureNav current="/gathers" />
      {error && <p class="error" role="alert">{error}</p>}
      {rows === null && <p role="status">Loading…</p>}
      {rows && rows.length > 0 && (
        <table class="list">
          <caption class="visually-hidden">Gathers</caption>
          <thead><tr><th scope="col">Gather</th><th scope="col">Types</th><th scope="col">Displays</th></tr></thead>
          <tbody>{rows.map((g) => (
            <tr><td><a {...linkProps('/gathers/' + g.name)}>{g.body.label || g.name}</a> <code class="muted">{g.name}</code></td>
              <td>{(g.body.types || []).join(', ') || 'any'}</td>
              <td>{(g.body.displays || []).map((d: Doc) => `${d.type}${d.path ? ' ' + d.path : ''}`).join('; ')}</td></tr>
          ))}</tbody>
        </table>
      )}
    </section>
  );
}

/** Rows edits a list of objects as rows of inputs, with add and remove. */
function Rows({ legend, rows, onChange, blank, cells, name }: {
  legend: string; name: string; rows: Doc[]; onChange: (r: Doc[]) => void; blank: Doc;
  cells: (r: Doc, set: (p: Doc) => void, id: string) => preact.ComponentChildren;
}) {
  return (
    <fieldset class="rows">
      <legend>{legend}</legend>
      {rows.length === 0 && <p class="muted">None.</p>}
      {rows.map((r, i) => (
        <div class="row pair" data-row={`${name}-${i}`}>
          {cells(r, (p) => { const n = rows.slice(); n[i] = { ...r, ...p }; onChange(n); }, `${name}-${i}`)}
          <button type="button" class="small danger" onClick={() => { onChange(rows.filter((_, j) => j !== i)); announce(`${legend}: row ${i + 1} removed.`, 'info'); }}>
            Remove<span class="visually-hidden"> {legend.toLowerCase()} row {i + 1}</span></button>
        </div>
      ))}
      <button type="button" class="small" onClick={() => {
        onChange([...rows, { ...blank }]);
        setTimeout(() => document.querySelector<HTMLElement>(`[data-row="${name}-${rows.length}"] input, [data-row="${name}-${rows.length}"] select`)?.focus());
      }}>Add {legend.toLowerCase().replace(/s$/, '')}</button>
    </fieldset>
  );
}

function cell(id: string, label: string, value: any, set: (v: string) => void, props: Record<string, any> = {}) {
  return (
    <div class="field"><label for={id}>{label}</label>
      <input id={id} type="text" value={value == null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value)} {...props}
        onInput={(e) => set((e.target as HTMLInputElement).value)} /></div>
  );
}

function pick(id: string, label: string, value: string, options: string[], set: (v: string) => void, blank?: string) {
  return (
    <div class="field"><label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => set((e.target as HTMLSelectElement).value)}>
        {blank !== undefined && <option value="">{blank}</option>}
        {options.map((o) => <option value={o}>{o}</option>)}
      </select></div>
  );
}

/** filterValue reads a typed value: JSON when it parses (numbers, true, lists), else the text. */
function filterValue(s: string): any {
  const t = s.trim();
  if (t === '') return undefined;
  if (/^(-?\d+(\.\d+)?|true|false|\[.*\])$/.test(t)) { try { return JSON.parse(t); } catch { /* text */ } }
  return s;
}

function cleanGather(d: Doc): Doc {
  const out: Doc = { ...d, kind: 'gather' };
  out.filters = (d.filters || []).filter((f: Doc) => f.field).map((f: Doc) => { const x = { ...f }; if (x.value === undefined || x.value === '') delete x.value; return x; });
  out.sorts = (d.sorts || []).filter((s: Doc) => s.field).map((s: Doc) => (s.direction ? s : { field: s.field }));
  out.displays = (d.displays || []).filter((x: Doc) => x.name).map((x: Doc) => {
    const y = { ...x };
    for (const k of ['path', 'items', 'format', 'title']) if (y[k] === '' || y[k] === undefined) delete y[k];
    if (typeof y.items === 'string') y.items = Number(y.items);
    if (y.type !== 'feed') delete y.format;
    if (y.type === 'tile') delete y.path;
    if (y.type === 'page') delete y.items;
    return y;
  });
  for (const k of ['filters', 'sorts', 'displays', 'types']) if (!out[k] || out[k].length === 0) delete out[k];
  if (out.pager && !out.pager.per_page) delete out.pager;
  return out;
}

export function GatherEditor({ name }: { name?: string }) {
  const app = useApp();
  const [doc, setDoc] = useState<Doc | null>(name ? null : { name: '', label: '', filters: [{ field: 'status', op: 'eq', value: 'published' }], sorts: [], displays: [], pager: { per_page: 10 } });
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<api.ApiError | null>(null);
  const [loadError, setLoadError] = useState('');
  const [preview, setPreview] = useState<{ items: api.Item[]; total: number } | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!name) return;
    api.get('/gathers/' + encodeURIComponent(name)).then((d) => { const s = stored(d); setDoc(s.body); setVersion(s.version); },
      (e: api.ApiError) => setLoadError(e.status === 404 ? 'This gather does not exist.' : e.message));
  }, [name]);
  if (loadError) return <section><h1>Gather</h1><p class="error" role="alert">{loadError}</p></section>;
  if (!doc) return <section><h1>Gather</h1><p role="status">Loading…</p></section>;

  const set = (p: Doc) => setDoc({ ...doc, ...p });
  const typeFields = Array.from(new Set(app.types.filter((t) => !doc.types?.length || doc.types.includes(t.name)).flatMap((t) => (t.fields || []).map((f) => f.name))));
  const fields = [...PROPS, ...typeFields, 'search'];

  const runPreview = async () => {
    setBusy(true);
    try {
      const r = await api.post('/gather-preview', { gather: cleanGather(doc), args: {} }, { stage: stageParam(app.stage) });
      setPreview({ items: r.items || [], total: r.total || 0 });
      setError(null);
      announce(`Preview: ${r.total} item${r.total === 1 ? '' : 's'} match.`);
    } catch (e) {
      setError(e as api.ApiError); setPreview(null);
      announce(`Preview failed: ${(e as api.ApiError).message}`, 'error');
      setTimeout(() => document.getElementById('doc-errors')?.focus());
    } finally { setBusy(false); }
  };
  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const r = await api.put('/gathers/' + encodeURIComponent(doc.name), { body: cleanGather(doc), if_version: version });
      setVersion(r.version);
      setError(null);
      announce(`Gather ${doc.label || doc.name} saved.`);
      if (!name) navigate('/gathers/' + doc.name, { replace: true });
    } catch (x) {
      setError(x as api.ApiError);
      announce(`Gather not saved: ${(x as api.ApiError).message}`, 'error');
      setTimeout(() => document.getElementById('doc-errors')?.focus());
    } finally { setBusy(false); }
  };

  return (
    <section class="gather-editor">
      <div class="screen-head"><h1>{name ? `Gather: ${doc.label || doc.name}` : 'New gather'}</h1><a {...linkProps('/gathers')}>All gathers</a></div>
      <StructureNav current="/gathers" />
      {errorList(error)}
      <form onSubmit={save} noValidate>
        <div class="pair">
          {cell('g-label', 'Label', doc.label, (v) => set({ label: v }))}
          {cell('g-name', 'Machine name', doc.name, (v) => set({ name: v }), { readOnly: !!name })}
          {cell('g-per-page', 'Items per page', doc.pager?.per_page ?? '', (v) => set({ pager: { ...(doc.pager || {}), per_page: v ? Number(v) : undefined } }), { type: 'number', min: 1, max: 100 })}
        </div>
        <fieldset><legend>Item types</legend>
          {app.types.map((t) => (
            <label class="check"><input type="checkbox" checked={(doc.types || []).includes(t.name)} onChange={(e) => {
              const cur: string[] = doc.types || [];
              set({ types: (e.target as HTMLInputElement).checked ? [...cur, t.name] : cur.filter((x) => x !== t.name) });
            }} /> {t.label || t.name}</label>
          ))}
          <p class="help">None checked: every type.</p>
        </fieldset>
        <Rows legend="Filters" name="filter" rows={doc.filters || []} onChange={(r) => set({ filters: r })} blank={{ field: 'title', op: 'contains' }}
          cells={(r, s, id) => <>
            {pick(id + '-field', 'Field', r.field, fields, (v) => s({ field: v }))}
            {pick(id + '-op', 'Operator', r.op, OPS, (v) => s({ op: v }))}
            {cell(id + '-value', 'Value', r.value, (v) => s({ value: filterValue(v) }))}
          </>} />
        <Rows legend="Sorts" name="sort" rows={doc.sorts || []} onChange={(r) => set({ sorts: r })} blank={{ field: 'created', direction: 'desc' }}
          cells={(r, s, id) => <>
            {pick(id + '-field', 'Field', r.field, [...PROPS, ...typeFields, 'rank'], (v) => s({ field: v }))}
            {pick(id + '-dir', 'Direction', r.direction || 'asc', ['asc', 'desc'], (v) => s({ direction: v }))}
          </>} />
        <Rows legend="Displays" name="display" rows={doc.displays || []} onChange={(r) => set({ displays: r })} blank={{ name: 'page', type: 'page', path: '/' }}
          cells={(r, s, id) => <>
            {cell(id + '-name', 'Name', r.name, (v) => s({ name: v }))}
            {pick(id + '-type', 'Type', r.type, ['page', 'feed', 'tile'], (v) => s({ type: v }))}
            {r.type !== 'tile' && cell(id + '-path', 'Path', r.path, (v) => s({ path: v }))}
            {r.type === 'feed' && pick(id + '-format', 'Format', r.format || 'rss', ['rss', 'atom'], (v) => s({ format: v }))}
            {r.type !== 'page' && cell(id + '-items', 'Items', r.items, (v) => s({ items: v }), { type: 'number', min: 1 })}
          </>} />
        <div class="actions publish-box">
          <button type="button" disabled={busy} onClick={runPreview}>Preview results</button>
          <button type="submit" class="primary" disabled={busy || !doc.name || !doc.label}>Save gather</button>
        </div>
      </form>
      {preview && (
        <section class="gather-preview" aria-labelledby="gp-h">
          <h2 id="gp-h">Preview: {preview.total} item{preview.total === 1 ? '' : 's'} (first page)</h2>
          <ol>{preview.items.map((it) => <li><a {...linkProps('/content/' + it.id)}>{it.title}</a> <span class="muted">{it.type}, {it.status}</span></li>)}</ol>
        </section>
      )}
    </section>
  );
}

export function TilesList() {
  const [rows, setRows] = useState<Stored[] | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    api.all('/config/tile').then((d) => setRows(d.map(stored).sort((a, b) => (a.body.region || '').localeCompare(b.body.region || '') || (a.body.weight || 0) - (b.body.weight || 0))),
      (e: api.ApiError) => { setRows([]); setError(e.status === 403 ? 'You may not change tiles.' : e.message); });
  }, []);
  const source = (c: Doc = {}) => c.gather ? `gather ${c.gather.gather}${c.gather.display ? ' / ' + c.gather.display : ''}` : c.menu ? `menu ${c.menu.menu}` : c.text ? 'text' : c.plugin ? `plugin ${c.plugin.plugin || ''}` : '';
  return (
    <section>
      <div class="screen-head"><h1>Tiles</h1><a class="button primary" {...linkProps('/tiles/new')}>New tile</a></div>
      <StructureNav current="/tiles" />
      {error && <p class="error" role="alert">{error}</p>}
      {rows === null && <p role="status">Loading…</p>}
      {rows && rows.length === 0 && !error && <p>No tiles are placed.</p>}
      {rows && rows.length > 0 && (
        <table class="list">
          <caption class="visually-hidden">Tiles by region</caption>
          <thead><tr><th scope="col">Tile</th><th scope="col">Region</th><th scope="col">Weight</th><th scope="col">Shows</th><th scope="col">State</th></tr></thead>
          <tbody>{rows.map((t) => (
            <tr><td><a {...linkProps('/tiles/' + t.name)}>{t.body.label || t.name}</a></td><td>{t.body.region}</td><td>{t.body.weight || 0}</td>
              <td>{source(t.body.content)}</td><td>{t.body.disabled ? 'disabled' : 'shown'}</td></tr>
          ))}</tbody>
        </table>
      )}
    </section>
  );
}

const lines = (v: string[] | undefined) => (v || []).join('\n');
const unlines = (s: string) => s.split('\n').map((x) => x.trim()).filter(Boolean);

export function TileEditor({ name }: { name?: string }) {
  const app = useApp();
  const [doc, setDoc] = useState<Doc | null>(name ? null : { name: '', label: '', region: 'sidebar', weight: 0, content: { text: { format: 'markdown', body: '' } } });
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<api.ApiError | null>(null);
  const [loadError, setLoadError] = useState('');
  const [gathers, setGathers] = useState<Stored[]>([]);
  const [menus, setMenus] = useState<{ name: string; label?: string }[]>([]);
  useEffect(() => {
    api.all('/gathers').then((d) => setGathers(d.map(stored)), () => setGathers([]));
    api.all('/menus').then((d) => setMenus(d.map((x) => api.configBody(x))), () => setMenus([]));
    if (!name) return;
    api.get('/config/tile/' + encodeURIComponent(name)).then((d) => { const s = stored(d); setDoc(s.body); setVersion(s.version); },
      (e: api.ApiError) => setLoadError(e.status === 404 ? 'This tile does not exist.' : e.message));
  }, [name]);
  if (loadError) return <section><h1>Tile</h1><p class="error" role="alert">{loadError}</p></section>;
  if (!doc) return <section><h1>Tile</h1><p role="status">Loading…</p></section>;

  const set = (p: Doc) => setDoc({ ...doc, ...p });
  const content: Doc = doc.content || {};
  const source = content.gather ? 'gather' : content.menu ? 'menu' : content.plugin ? 'plugin' : 'text';
  const vis: Doc = doc.visibility || {};
  const setVis = (p: Doc) => {
    const v = { ...vis, ...p };
    for (const k of Object.keys(v)) if (!v[k] || v[k].length === 0) delete v[k];
    set({ visibility: Object.keys(v).length ? v : undefined });
  };
  const save = async (e: Event) => {
    e.preventDefault();
    const body: Doc = { ...doc, kind: 'tile', weight: Number(doc.weight) || 0 };
    if (!body.visibility) delete body.visibility;
    if (!body.disabled) delete body.disabled;
    if (body.title === undefined || body.title === null) delete body.title;
    try {
      const r = await api.put('/config/tile/' + encodeURIComponent(doc.name), { body, if_version: version });
      setVersion(r.version);
      setError(null);
      announce(`Tile ${doc.label || doc.name} saved.`);
      if (!name) navigate('/tiles/' + doc.name, { replace: true });
    } catch (x) {
      setError(x as api.ApiError);
      announce(`Tile not saved: ${(x as api.ApiError).message}`, 'error');
      setTimeout(() => document.getElementById('doc-errors')?.focus());
    }
  };
  const remove = async () => {
    if (!confirm(`Delete the tile ${doc.label || doc.name}?`)) return;
    try { await api.del('/config/tile/' + encodeURIComponent(doc.name)); announce(`Tile ${doc.label || doc.name} deleted.`); navigate('/tiles', { force: true }); }
    catch (x) { announce(`Not deleted: ${(x as api.ApiError).message}`, 'error'); }
  };
  const g = gathers.find((x) => x.name === content.gather?.gather);
  return (
    <section class="tile-editor">
      <div class="screen-head"><h1>{name ? `Tile: ${doc.label || doc.name}` : 'New tile'}</h1><a {...linkProps('/tiles')}>All tiles</a></div>
      <StructureNav current="/tiles" />
      {errorList(error)}
      <form onSubmit={save} noValidate>
        <div class="pair">
          {cell('t-label', 'Label', doc.label, (v) => set({ label: v }))}
          {cell('t-name', 'Machine name', doc.name, (v) => set({ name: v }), { readOnly: !!name })}
        </div>
        <div class="pair">
          {pick('t-region', 'Region', doc.region, REGIONS, (v) => set({ region: v }))}
          {cell('t-weight', 'Weight', doc.weight ?? 0, (v) => set({ weight: v }), { type: 'number', min: -1000, max: 1000 })}
          {cell('t-title', 'Heading (empty: none)', doc.title ?? '', (v) => set({ title: v }))}
          <label class="check"><input type="checkbox" checked={!!doc.disabled} onChange={(e) => set({ disabled: (e.target as HTMLInputElement).checked })} /> Disabled</label>
        </div>
        <fieldset><legend>Shows</legend>
          {pick('t-source', 'Source', source, ['text', 'gather', 'menu'].concat(source === 'plugin' ? ['plugin'] : []), (v) =>
            set({ content: v === 'gather' ? { gather: { gather: gathers[0]?.name || '' } } : v === 'menu' ? { menu: { menu: menus[0]?.name || '' } } : { text: { format: 'markdown', body: '' } } }))}
          {source === 'text' && (
            <>
              {pick('t-format', 'Text format', content.text.format || 'markdown', ['markdown', 'plain', 'filtered_html'], (v) => set({ content: { text: { ...content.text, format: v } } }))}
              <div class="field"><label for="t-body">Text</label>
                <textarea id="t-body" rows={5} value={content.text.body} onInput={(e) => set({ content: { text: { ...content.text, body: (e.target as HTMLTextAreaElement).value } } })} /></div>
            </>
          )}
          {source === 'gather' && (
            <div class="pair">
              {pick('t-gather', 'Gather', content.gather.gather, gathers.map((x) => x.name), (v) => set({ content: { gather: { gather: v } } }))}
              {pick('t-display', 'Display', content.gather.display || '', (g?.body.displays || []).map((d: Doc) => d.name), (v) => set({ content: { gather: { ...content.gather, display: v || undefined } } }), '(the gather itself)')}
              {cell('t-items', 'Items', content.gather.items ?? '', (v) => set({ content: { gather: { ...content.gather, items: v ? Number(v) : undefined } } }), { type: 'number', min: 1, max: 100 })}
            </div>
          )}
          {source === 'menu' && (
            <div class="pair">
              {pick('t-menu', 'Menu', content.menu.menu, menus.map((m) => m.name), (v) => set({ content: { menu: { ...content.menu, menu: v } } }))}
              {cell('t-depth', 'Levels', content.menu.depth ?? '', (v) => set({ content: { menu: { ...content.menu, depth: v ? Number(v) : undefined } } }), { type: 'number', min: 1, max: 8 })}
            </div>
          )}
          {source === 'plugin' && <p>Shows the plugin tile <code>{JSON.stringify(content.plugin)}</code>.</p>}
        </fieldset>
        <fieldset><legend>Visibility</legend>
          <p class="help">Every rule given must match; an empty rule matches every page.</p>
          <div class="pair">
            <div class="field"><label for="t-pages">Only on these paths</label>
              <p class="help" id="t-pages-help">One per line; * matches anything, &lt;front&gt; is the front page.</p>
              <textarea id="t-pages" rows={3} aria-describedby="t-pages-help" value={lines(vis.pages)} onInput={(e) => setVis({ pages: unlines((e.target as HTMLTextAreaElement).value) })} /></div>
            <div class="field"><label for="t-except">Never on these paths</label>
              <textarea id="t-except" rows={3} value={lines(vis.except)} onInput={(e) => setVis({ except: unlines((e.target as HTMLTextAreaElement).value) })} /></div>
          </div>
          <fieldset><legend>Only on pages of these item types</legend>
            {app.types.map((t) => (
              <label class="check"><input type="checkbox" checked={(vis.types || []).includes(t.name)} onChange={(e) => {
                const cur: string[] = vis.types || [];
                setVis({ types: (e.target as HTMLInputElement).checked ? [...cur, t.name] : cur.filter((x) => x !== t.name) });
              }} /> {t.label || t.name}</label>
            ))}
          </fieldset>
          <div class="field"><label for="t-roles">Only for these roles</label>
            <p class="help" id="t-roles-help">Role names separated by spaces (anonymous, authenticated, editor…); empty: everyone.</p>
            <input id="t-roles" type="text" aria-describedby="t-roles-help" value={(vis.roles || []).join(' ')} onInput={(e) => setVis({ roles: (e.target as HTMLInputElement).value.split(/[\s,]+/).filter(Boolean) })} /></div>
        </fieldset>
        <div class="actions">
          <button type="submit" class="primary" disabled={!doc.name || !doc.label}>Save tile</button>
          {name && <button type="button" class="danger" onClick={remove}>Delete tile</button>}
        </div>
      </form>
    </section>
  );
}
