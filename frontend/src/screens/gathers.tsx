// Gathers (stored listings) and tiles (content placed in theme regions),
// both config documents. A gather is edited as rows of filters, sorts and
// displays, relationships (item_ref fields followed to other items) and
// exposed filters, and previewed unsaved (POST /gather-preview) before it
// is saved; keys this form does not show are kept as they are. Tiles are
// read and written through /tiles, saved with the version they were read
// at. A refused save names each bad field at its input.
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

/** Errs maps an input's id to the API's messages about it. */
type Errs = Record<string, string[]>;

const ROW_IDS: Record<string, string> = { filters: 'filter', sorts: 'sort', displays: 'display', relationships: 'rel' };

/** errorsByInput maps the API's field errors ("body.filters[1].exposed.name")
 * to the form's input ids ("filter-1-exposed-name"): rows by their index,
 * other paths through known (the longest known prefix wins). */
function errorsByInput(e: api.ApiError | null, known: Record<string, string>): { byId: Errs; idOf: (path: string) => string } {
  const byId: Errs = {};
  const idOf = (path: string) => {
    const p = path.replace(/^body\.?/, '');
    const m = /^(filters|sorts|displays|relationships)\[(\d+)\]\.?(.*)$/.exec(p);
    if (m) return `${ROW_IDS[m[1]]}-${m[2]}${m[3] ? '-' + m[3].replace(/\[\d+\]/g, '').replace(/\./g, '-') : ''}`;
    for (let q = p.replace(/\[\d+\]/g, ''); q; q = q.includes('.') ? q.slice(0, q.lastIndexOf('.')) : '') {
      if (known[q]) return known[q];
    }
    return '';
  };
  for (const f of e?.fields || []) {
    const id = idOf(f.path);
    if (id) (byId[id] ||= []).push(f.message);
  }
  return { byId, idOf };
}

function errorList(e: api.ApiError | null, idOf: (path: string) => string) {
  if (!e) return null;
  const jump = (id: string) => (ev: MouseEvent) => {
    const el = document.getElementById(id);
    if (!el) return;
    ev.preventDefault();
    el.focus();
  };
  return (
    <div class="error-summary" role="alert" tabIndex={-1} id="doc-errors">
      <p>{e.message}</p>
      {e.fields.length > 0 && <ul>{e.fields.map((f) => {
        const id = idOf(f.path);
        return <li>{id ? <a href={'#' + id} onClick={jump(id)}><code>{f.path}</code></a> : <code>{f.path}</code>}: {f.message}</li>;
      })}</ul>}
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
function Rows({ legend, rows, onChange, blank, cells, name, help }: {
  legend: string; name: string; rows: Doc[]; onChange: (r: Doc[]) => void; blank: Doc; help?: string;
  cells: (r: Doc, set: (p: Doc) => void, id: string) => preact.ComponentChildren;
}) {
  return (
    <fieldset class="rows">
      <legend>{legend}</legend>
      {help && <p class="help">{help}</p>}
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

function described(id: string, errs: Errs, help?: string) {
  const e = errs[id];
  return {
    'aria-invalid': e ? 'true' : undefined,
    'aria-describedby': [help, e ? id + '-err' : ''].filter(Boolean).join(' ') || undefined,
  } as Record<string, string | undefined>;
}

function fieldErrors(id: string, errs: Errs) {
  const e = errs[id];
  return e ? <p class="field-errors" id={id + '-err'}>{e.join('; ')}</p> : null;
}

function cell(id: string, label: string, value: any, set: (v: string) => void, props: Record<string, any> = {}, errs: Errs = {}) {
  return (
    <div class={'field' + (errs[id] ? ' has-error' : '')}><label for={id}>{label}</label>
      <input id={id} type="text" value={value == null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value)} {...props}
        {...described(id, errs, props['aria-describedby'])} onInput={(e) => set((e.target as HTMLInputElement).value)} />
      {fieldErrors(id, errs)}</div>
  );
}

function pick(id: string, label: string, value: string, options: (string | [string, string])[], set: (v: string) => void, blank?: string, errs: Errs = {}) {
  return (
    <div class={'field' + (errs[id] ? ' has-error' : '')}><label for={id}>{label}</label>
      <select id={id} value={value} {...described(id, errs)} onChange={(e) => set((e.target as HTMLSelectElement).value)}>
        {blank !== undefined && <option value="">{blank}</option>}
        {options.map((o) => (Array.isArray(o) ? <option value={o[0]}>{o[1]}</option> : <option value={o}>{o}</option>))}
      </select>
      {fieldErrors(id, errs)}</div>
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
  out.relationships = (d.relationships || []).filter((r: Doc) => r.name || r.field).map((r: Doc) => {
    const x = { ...r };
    if (!x.from) delete x.from;
    return x;
  });
  out.filters = (d.filters || []).filter((f: Doc) => f.field).map((f: Doc) => {
    const x = { ...f };
    if (x.value === undefined || x.value === '') delete x.value;
    if (!x.relationship) delete x.relationship;
    if (x.exposed) {
      x.exposed = { ...x.exposed };
      if (!x.exposed.description) delete x.exposed.description;
    }
    return x;
  });
  out.sorts = (d.sorts || []).filter((s: Doc) => s.field).map((s: Doc) => {
    const x = { ...s };
    if (!x.direction) delete x.direction;
    if (!x.relationship) delete x.relationship;
    return x;
  });
  out.displays = (d.displays || []).filter((x: Doc) => x.name).map((x: Doc) => {
    const y = { ...x };
    for (const k of ['path', 'items', 'format', 'title']) if (y[k] === '' || y[k] === undefined) delete y[k];
    if (typeof y.items === 'string') y.items = Number(y.items);
    if (y.type !== 'feed') delete y.format;
    if (y.type === 'tile') delete y.path;
    if (y.type === 'page') delete y.items;
    return y;
  });
  for (const k of ['relationships', 'filters', 'sorts', 'displays', 'types']) if (!out[k] || out[k].length === 0) delete out[k];
  if (!out.description) delete out.description;
  if (out.pager && !out.pager.per_page) delete out.pager;
  return out;
}

const GATHER_INPUTS: Record<string, string> = { label: 'g-label', name: 'g-name', description: 'g-desc', pager: 'g-per-page', 'pager.per_page': 'g-per-page', types: 'g-types' };

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
  const { byId: errs, idOf } = errorsByInput(error, GATHER_INPUTS);
  const baseTypes = app.types.filter((t) => !doc.types?.length || doc.types.includes(t.name));
  const typeFields = Array.from(new Set(app.types.filter((t) => !doc.types?.length || doc.types.includes(t.name)).flatMap((t) => (t.fields || []).map((f) => f.name))));
  // A relationship's items can be of any type: offer every type's fields for rows that use one.
  const allFields = Array.from(new Set(app.types.flatMap((t) => (t.fields || []).map((f) => f.name))));
  const fields = [...PROPS, ...typeFields, 'search'];
  const rels: Doc[] = doc.relationships || [];
  const relNames = rels.map((r) => r.name).filter(Boolean);
  const refFields = Array.from(new Set((rels.length ? app.types : baseTypes).flatMap((t) => (t.fields || []).filter((f) => f.type === 'item_ref').map((f) => f.name))));
  const relPick = (id: string, r: Doc, s: (p: Doc) => void) => relNames.length > 0 &&
    pick(id + '-relationship', 'Applies to', r.relationship || '', relNames.map((n) => [n, `relationship ${n}`] as [string, string]), (v) => s({ relationship: v || undefined }), 'the listed item', errs);

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
      {errorList(error, idOf)}
      <form onSubmit={save} noValidate>
        <div class="pair">
          {cell('g-label', 'Label', doc.label, (v) => set({ label: v }), {}, errs)}
          {cell('g-name', 'Machine name', doc.name, (v) => set({ name: v }), { readOnly: !!name }, errs)}
          {cell('g-per-page', 'Items per page', doc.pager?.per_page ?? '', (v) => set({ pager: { ...(doc.pager || {}), per_page: v ? Number(v) : undefined } }), { type: 'number', min: 1, max: 100 }, errs)}
        </div>
        {cell('g-desc', 'Description', doc.description || '', (v) => set({ description: v }), {}, errs)}
        <fieldset id="g-types" tabIndex={-1}><legend>Item types</legend>
          {app.types.map((t) => (
            <label class="check"><input type="checkbox" checked={(doc.types || []).includes(t.name)} onChange={(e) => {
              const cur: string[] = doc.types || [];
              set({ types: (e.target as HTMLInputElement).checked ? [...cur, t.name] : cur.filter((x) => x !== t.name) });
            }} /> {t.label || t.name}</label>
          ))}
          <p class="help">None checked: every type.</p>
          {fieldErrors('g-types', errs)}
        </fieldset>
        <Rows legend="Relationships" name="rel" rows={rels} onChange={(r) => set({ relationships: r })} blank={{ name: '', field: refFields[0] || '' }}
          help="A relationship follows a reference field to the items it points to; filters and sorts can then use those items' fields."
          cells={(r, s, id) => <>
            {cell(id + '-name', 'Name', r.name, (v) => s({ name: v }), {}, errs)}
            {pick(id + '-field', 'Reference field', r.field || '', refFields.includes(r.field) || !r.field ? refFields : [...refFields, r.field], (v) => s({ field: v }), '(choose)', errs)}
            {pick(id + '-from', 'From', r.from || '', relNames.filter((n) => n !== r.name), (v) => s({ from: v || undefined }), 'the listed items', errs)}
          </>} />
        <Rows legend="Filters" name="filter" rows={doc.filters || []} onChange={(r) => set({ filters: r })} blank={{ field: 'title', op: 'contains' }}
          cells={(r, s, id) => <>
            {relPick(id, r, s)}
            {pick(id + '-field', 'Field', r.field, r.relationship ? [...PROPS, ...allFields] : fields, (v) => s({ field: v }), undefined, errs)}
            {pick(id + '-op', 'Operator', r.op, OPS, (v) => s({ op: v }), undefined, errs)}
            {cell(id + '-value', r.exposed ? 'Value (when the visitor gives none)' : 'Value', r.value, (v) => s({ value: filterValue(v) }), {}, errs)}
            <label class="check"><input type="checkbox" id={id + '-exposed'} checked={!!r.exposed} {...described(id + '-exposed', errs)} onChange={(e) => {
              const on = (e.target as HTMLInputElement).checked;
              s({ exposed: on ? { name: r.field === 'search' ? 'q' : r.field, label: r.field === 'search' ? 'Search' : r.field.charAt(0).toUpperCase() + r.field.slice(1).replace(/_/g, ' ') } : undefined });
              if (on) setTimeout(() => document.getElementById(id + '-exposed-name')?.focus());
            }} /> Visitors choose the value</label>
            {fieldErrors(id + '-exposed', errs)}
            {r.exposed && <div class="pair exposed">
              {cell(id + '-exposed-name', 'Query parameter', r.exposed.name, (v) => s({ exposed: { ...r.exposed, name: v } }), {}, errs)}
              {cell(id + '-exposed-label', 'Form label', r.exposed.label, (v) => s({ exposed: { ...r.exposed, label: v } }), {}, errs)}
              {cell(id + '-exposed-description', 'Form help', r.exposed.description || '', (v) => s({ exposed: { ...r.exposed, description: v } }), {}, errs)}
            </div>}
          </>} />
        <Rows legend="Sorts" name="sort" rows={doc.sorts || []} onChange={(r) => set({ sorts: r })} blank={{ field: 'created', direction: 'desc' }}
          cells={(r, s, id) => <>
            {relPick(id, r, s)}
            {pick(id + '-field', 'Field', r.field, [...PROPS, ...(r.relationship ? allFields : typeFields), 'rank'], (v) => s({ field: v }), undefined, errs)}
            {pick(id + '-direction', 'Direction', r.direction || 'asc', ['asc', 'desc'], (v) => s({ direction: v }), undefined, errs)}
          </>} />
        <Rows legend="Displays" name="display" rows={doc.displays || []} onChange={(r) => set({ displays: r })} blank={{ name: 'page', type: 'page', path: '/' }}
          cells={(r, s, id) => <>
            {cell(id + '-name', 'Name', r.name, (v) => s({ name: v }), {}, errs)}
            {pick(id + '-type', 'Type', r.type, ['page', 'feed', 'tile'], (v) => s({ type: v }), undefined, errs)}
            {r.type !== 'tile' && cell(id + '-path', 'Path', r.path, (v) => s({ path: v }), {}, errs)}
            {r.type === 'feed' && pick(id + '-format', 'Format', r.format || 'rss', ['rss', 'atom'], (v) => s({ format: v }), undefined, errs)}
            {r.type !== 'page' && cell(id + '-items', 'Items', r.items, (v) => s({ items: v }), { type: 'number', min: 1 }, errs)}
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
    api.all('/tiles').then((d) => setRows(d.map(stored).sort((a, b) => (a.body.region || '').localeCompare(b.body.region || '') || (a.body.weight || 0) - (b.body.weight || 0))),
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

const TILE_INPUTS: Record<string, string> = {
  label: 't-label', name: 't-name', description: 't-label', region: 't-region', weight: 't-weight', title: 't-title', disabled: 't-disabled',
  content: 't-source', 'content.text': 't-body', 'content.text.body': 't-body', 'content.text.format': 't-format',
  'content.gather': 't-gather', 'content.gather.gather': 't-gather', 'content.gather.display': 't-display', 'content.gather.items': 't-items',
  'content.menu': 't-menu', 'content.menu.menu': 't-menu', 'content.menu.depth': 't-depth',
  'content.plugin': 't-plugin', 'content.plugin.plugin': 't-plugin', 'content.plugin.tile': 't-plugin',
  visibility: 't-pages', 'visibility.pages': 't-pages', 'visibility.except': 't-except', 'visibility.types': 't-types', 'visibility.roles': 't-roles',
};

interface TileSource { source: string; gather?: string; plugin?: string; name: string; label: string }

export function TileEditor({ name }: { name?: string }) {
  const app = useApp();
  const [doc, setDoc] = useState<Doc | null>(name ? null : { name: '', label: '', region: 'sidebar', weight: 0, content: { text: { format: 'markdown', body: '' } } });
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<api.ApiError | null>(null);
  const [loadError, setLoadError] = useState('');
  const [gathers, setGathers] = useState<Stored[]>([]);
  const [menus, setMenus] = useState<{ name: string; label?: string }[]>([]);
  const [plugins, setPlugins] = useState<TileSource[]>([]);
  // The text of list inputs as typed (a trailing newline or space survives until the list is parsed).
  const [raw, setRaw] = useState<Record<string, string>>({});
  useEffect(() => {
    api.all('/gathers').then((d) => setGathers(d.map(stored)), () => setGathers([]));
    api.all('/menus').then((d) => setMenus(d.map((x) => api.configBody(x))), () => setMenus([]));
    api.all<TileSource>('/tile-sources').then((d) => setPlugins(d.filter((x) => x.source === 'plugin')), () => setPlugins([]));
    if (!name) return;
    api.get('/tiles/' + encodeURIComponent(name)).then((d) => { const s = stored(d); setDoc(s.body); setVersion(s.version); },
      (e: api.ApiError) => setLoadError(e.status === 404 ? 'This tile does not exist.' : e.message));
  }, [name]);
  if (loadError) return <section><h1>Tile</h1><p class="error" role="alert">{loadError}</p></section>;
  if (!doc) return <section><h1>Tile</h1><p role="status">Loading…</p></section>;

  const { byId: errs, idOf } = errorsByInput(error, TILE_INPUTS);
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
      const r = await api.put('/tiles/' + encodeURIComponent(doc.name), { body, if_version: version });
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
    try { await api.del('/tiles/' + encodeURIComponent(doc.name)); announce(`Tile ${doc.label || doc.name} deleted.`); navigate('/tiles', { force: true }); }
    catch (x) { announce(`Not deleted: ${(x as api.ApiError).message}`, 'error'); }
  };
  const g = gathers.find((x) => x.name === content.gather?.gather);
  const pluginKey = (p: { plugin?: string; tile?: string; name?: string }) => `${p.plugin}/${p.tile ?? p.name}`;
  const sources: [string, string][] = [['text', 'text'], ['gather', 'gather'], ['menu', 'menu']];
  if (plugins.length || source === 'plugin') sources.push(['plugin', 'plugin tile']);
  return (
    <section class="tile-editor">
      <div class="screen-head"><h1>{name ? `Tile: ${doc.label || doc.name}` : 'New tile'}</h1><a {...linkProps('/tiles')}>All tiles</a></div>
      <StructureNav current="/tiles" />
      {errorList(error, idOf)}
      <form onSubmit={save} noValidate>
        <div class="pair">
          {cell('t-label', 'Label', doc.label, (v) => set({ label: v }), {}, errs)}
          {cell('t-name', 'Machine name', doc.name, (v) => set({ name: v }), { readOnly: !!name }, errs)}
        </div>
        <div class="pair">
          {pick('t-region', 'Region', doc.region, REGIONS.includes(doc.region) || !doc.region ? REGIONS : [...REGIONS, doc.region], (v) => set({ region: v }), undefined, errs)}
          {cell('t-weight', 'Weight', doc.weight ?? 0, (v) => set({ weight: v }), { type: 'number', min: -1000, max: 1000 }, errs)}
          {cell('t-title', 'Heading (empty: none)', doc.title ?? '', (v) => set({ title: v }), {}, errs)}
          <label class="check"><input type="checkbox" id="t-disabled" checked={!!doc.disabled} onChange={(e) => set({ disabled: (e.target as HTMLInputElement).checked })} /> Disabled</label>
        </div>
        <fieldset><legend>Shows</legend>
          {pick('t-source', 'Source', source, sources, (v) =>
            set({ content: v === 'gather' ? { gather: { gather: gathers[0]?.name || '' } } : v === 'menu' ? { menu: { menu: menus[0]?.name || '' } }
              : v === 'plugin' ? { plugin: { plugin: plugins[0]?.plugin || '', tile: plugins[0]?.name || '' } } : { text: { format: 'markdown', body: '' } } }), undefined, errs)}
          {source === 'text' && (
            <>
              {pick('t-format', 'Text format', content.text.format || 'markdown', ['markdown', 'plain', 'filtered_html'], (v) => set({ content: { text: { ...content.text, format: v } } }), undefined, errs)}
              <div class={'field' + (errs['t-body'] ? ' has-error' : '')}><label for="t-body">Text</label>
                <textarea id="t-body" rows={5} value={content.text.body} {...described('t-body', errs)}
                  onInput={(e) => set({ content: { text: { ...content.text, body: (e.target as HTMLTextAreaElement).value } } })} />
                {fieldErrors('t-body', errs)}</div>
            </>
          )}
          {source === 'gather' && (
            <div class="pair">
              {pick('t-gather', 'Gather', content.gather.gather, gathers.map((x) => x.name), (v) => set({ content: { gather: { gather: v } } }), content.gather.gather ? undefined : '(choose)', errs)}
              {pick('t-display', 'Display', content.gather.display || '', (g?.body.displays || []).map((d: Doc) => d.name), (v) => set({ content: { gather: { ...content.gather, display: v || undefined } } }), '(the gather itself)', errs)}
              {cell('t-items', 'Items', content.gather.items ?? '', (v) => set({ content: { gather: { ...content.gather, items: v ? Number(v) : undefined } } }), { type: 'number', min: 1, max: 100 }, errs)}
            </div>
          )}
          {source === 'menu' && (
            <div class="pair">
              {pick('t-menu', 'Menu', content.menu.menu, menus.map((m) => [m.name, m.label || m.name] as [string, string]), (v) => set({ content: { menu: { ...content.menu, menu: v } } }), content.menu.menu ? undefined : '(choose)', errs)}
              {cell('t-depth', 'Levels', content.menu.depth ?? '', (v) => set({ content: { menu: { ...content.menu, depth: v ? Number(v) : undefined } } }), { type: 'number', min: 1, max: 8 }, errs)}
            </div>
          )}
          {source === 'plugin' && (
            pick('t-plugin', 'Plugin tile', pluginKey(content.plugin), (plugins.some((p) => pluginKey(p) === pluginKey(content.plugin)) ? [] : [[pluginKey(content.plugin), pluginKey(content.plugin)] as [string, string]])
              .concat(plugins.map((p) => [pluginKey(p), `${p.label} (${p.plugin})`] as [string, string])),
            (v) => { const [plugin, tile] = v.split('/'); set({ content: { plugin: { plugin, tile } } }); }, undefined, errs)
          )}
        </fieldset>
        <fieldset><legend>Visibility</legend>
          <p class="help">Every rule given must match; an empty rule matches every page.</p>
          <div class="pair">
            <div class={'field' + (errs['t-pages'] ? ' has-error' : '')}><label for="t-pages">Only on these paths</label>
              <p class="help" id="t-pages-help">One per line; * matches anything, &lt;front&gt; is the front page.</p>
              <textarea id="t-pages" rows={3} {...described('t-pages', errs, 't-pages-help')} value={raw['t-pages'] ?? lines(vis.pages)} onInput={(e) => { const v = (e.target as HTMLTextAreaElement).value; setRaw({ ...raw, 't-pages': v }); setVis({ pages: unlines(v) }); }} />
              {fieldErrors('t-pages', errs)}</div>
            <div class={'field' + (errs['t-except'] ? ' has-error' : '')}><label for="t-except">Never on these paths</label>
              <textarea id="t-except" rows={3} {...described('t-except', errs)} value={raw['t-except'] ?? lines(vis.except)} onInput={(e) => { const v = (e.target as HTMLTextAreaElement).value; setRaw({ ...raw, 't-except': v }); setVis({ except: unlines(v) }); }} />
              {fieldErrors('t-except', errs)}</div>
          </div>
          <fieldset id="t-types" tabIndex={-1}><legend>Only on pages of these item types</legend>
            {app.types.map((t) => (
              <label class="check"><input type="checkbox" checked={(vis.types || []).includes(t.name)} onChange={(e) => {
                const cur: string[] = vis.types || [];
                setVis({ types: (e.target as HTMLInputElement).checked ? [...cur, t.name] : cur.filter((x) => x !== t.name) });
              }} /> {t.label || t.name}</label>
            ))}
            {fieldErrors('t-types', errs)}
          </fieldset>
          {cell('t-roles', 'Only for these roles', raw['t-roles'] ?? (vis.roles || []).join(' '), (v) => { setRaw({ ...raw, 't-roles': v }); setVis({ roles: v.split(/[\s,]+/).filter(Boolean) }); }, { 'aria-describedby': 't-roles-help' }, errs)}
          <p class="help" id="t-roles-help">Role names separated by spaces (anonymous, authenticated, editor…); empty: everyone.</p>
        </fieldset>
        <div class="actions">
          <button type="submit" class="primary" disabled={!doc.name || !doc.label}>Save tile</button>
          {name && <button type="button" class="danger" onClick={remove}>Delete tile</button>}
        </div>
      </form>
    </section>
  );
}
