import { useEffect, useState } from 'preact/hooks';
import * as api from '../api';
import { announce } from '../announce';
import { linkProps, navigate } from '../router';
import { LIVE, stageLabel, stageParam, useApp } from '../state';
import { fmtDate } from '../util';
import { useAuthors } from '../hooks';

const PAGE = 25;

export function ContentList() {
  const app = useApp();
  const params = new URLSearchParams(location.search);
  const [q, setQ] = useState(params.get('q') || '');
  const [type, setType] = useState(params.get('type') || '');
  const [status, setStatus] = useState(params.get('status') || '');
  const [stageFilter, setStageFilter] = useState(params.get('stage') || '');
  const [author, setAuthor] = useState(params.get('author') || '');
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [reload, setReload] = useState(0);
  const [cursors, setCursors] = useState<string[]>(['']); // cursor of each page seen
  const [page, setPage] = useState(0);
  const [rows, setRows] = useState<api.Item[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [total, setTotal] = useState<number | undefined>(undefined);
  const [error, setError] = useState('');
  const [applied, setApplied] = useState({ q, type, status, stageFilter, author });

  const stage = applied.stageFilter || app.stage;

  useEffect(() => {
    let gone = false;
    setRows(null);
    setError('');
    setSelected(new Set());
    const filters = { type: applied.type || undefined, status: applied.status || undefined, author: applied.author || undefined, stage: stageParam(stage) };
    const load = async () => {
      if (applied.q) {
        // The API lists without text search: read the filtered list and
        // match titles here, a page at a time.
        const words = applied.q.toLowerCase().split(/\s+/).filter(Boolean);
        const everything = await api.all<api.Item>('/items', filters, 2000);
        const hits = everything.filter((it) => words.every((w) => (it.title || '').toLowerCase().includes(w)));
        return { items: hits.slice(page * PAGE, (page + 1) * PAGE), next: (page + 1) * PAGE < hits.length ? 'more' : null, total: hits.length };
      }
      const d = await api.get('/items', { ...filters, limit: PAGE, cursor: cursors[page] || undefined });
      return { items: api.listOf<api.Item>(d), next: api.nextCursor(d), total: typeof d?.total === 'number' ? d.total : undefined };
    };
    load().then((r) => {
      if (gone) return;
      setRows(r.items);
      setNext(r.next);
      setTotal(r.total);
    }, (e: api.ApiError) => { if (!gone) { setRows([]); setError(e.message); } });
    return () => { gone = true; };
  }, [applied, page, cursors, stage, reload]);

  const authors = useAuthors();

  const apply = (e?: Event) => {
    e?.preventDefault();
    setCursors(['']);
    setPage(0);
    setApplied({ q, type, status, stageFilter, author });
    const p = new URLSearchParams();
    if (q) p.set('q', q);
    if (type) p.set('type', type);
    if (status) p.set('status', status);
    if (stageFilter) p.set('stage', stageFilter);
    if (author) p.set('author', author);
    history.replaceState(null, '', location.pathname + (p.toString() ? '?' + p : ''));
  };

  const typeLabel = (n: string) => app.types.find((t) => t.name === n)?.label || n;

  return (
    <section class="content-list">
      <div class="screen-head">
        <h1>Content</h1>
        <NewItemMenu />
      </div>
      <form class="filters" role="search" aria-label="Filter content" onSubmit={apply}>
        <div class="field">
          <label for="f-q">Search</label>
          <input id="f-q" type="search" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} placeholder="Title or text" />
        </div>
        <div class="field">
          <label for="f-type">Type</label>
          <select id="f-type" value={type} onChange={(e) => setType((e.target as HTMLSelectElement).value)}>
            <option value="">Any type</option>
            {app.types.map((t) => <option value={t.name}>{t.label || t.name}</option>)}
          </select>
        </div>
        <div class="field">
          <label for="f-status">Status</label>
          <select id="f-status" value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}>
            <option value="">Any status</option>
            <option value="published">Published</option>
            <option value="unpublished">Unpublished</option>
          </select>
        </div>
        <div class="field">
          <label for="f-stage">Stage</label>
          <select id="f-stage" value={stageFilter} onChange={(e) => setStageFilter((e.target as HTMLSelectElement).value)}>
            <option value="">As {stageLabel(app.stages, app.stage)} shows it</option>
            <option value={LIVE}>Live</option>
            {app.stages.map((s) => <option value={s.name}>{s.label || s.name}</option>)}
          </select>
        </div>
        <div class="field">
          <label for="f-author">Author</label>
          <select id="f-author" value={author} onChange={(e) => setAuthor((e.target as HTMLSelectElement).value)}>
            <option value="">Anyone</option>
            {app.user && <option value={app.user.id}>Me ({app.user.name})</option>}
            {Object.entries(authors).filter(([id]) => id !== app.user?.id).sort((a, b) => a[1].localeCompare(b[1]))
              .map(([id, name]) => <option value={id}>{name}</option>)}
          </select>
        </div>
        <button type="submit">Filter</button>
      </form>
      {rows && rows.length > 0 && (
        <BulkActions rows={rows} selected={selected} listStage={stage} done={() => setReload((n) => n + 1)} />
      )}

      {error && <p class="error" role="alert">{error}</p>}
      <div aria-live="polite" aria-busy={rows === null ? 'true' : 'false'} class="result-count">
        {rows === null ? 'Loading…' : total !== undefined ? `${total} item${total === 1 ? '' : 's'}` : `${rows.length} item${rows.length === 1 ? '' : 's'} on this page`}
      </div>
      {rows && rows.length > 0 && (
        <table class="list">
          <caption class="visually-hidden">Content in {stageLabel(app.stages, stage)}</caption>
          <thead>
            <tr>
              <th scope="col" class="select-col">
                <input type="checkbox" aria-label="Select every item on this page" checked={rows.every((it) => selected.has(it.id))}
                  onChange={(e) => setSelected((e.target as HTMLInputElement).checked ? new Set(rows.map((it) => it.id)) : new Set())} />
              </th>
              <th scope="col">Title</th><th scope="col">Type</th><th scope="col">Status</th><th scope="col">Updated</th><th scope="col">Author</th></tr>
          </thead>
          <tbody>
            {rows.map((it) => (
              <tr>
                <td class="select-col">
                  <input type="checkbox" aria-label={`Select ${it.title || it.id}`} checked={selected.has(it.id)}
                    onChange={(e) => {
                      const n = new Set(selected);
                      if ((e.target as HTMLInputElement).checked) n.add(it.id); else n.delete(it.id);
                      setSelected(n);
                    }} />
                </td>
                <td><a {...linkProps('/content/' + it.id)}>{it.title || '(untitled)'}</a></td>
                <td>{typeLabel(it.type)}</td>
                <td><span class={'badge ' + it.status}>{it.status}</span></td>
                <td>{fmtDate(it.changed_at)}</td>
                <td>{authors[it.author_id || ''] || ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {rows && rows.length === 0 && !error && <p>No content matches.</p>}
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>Previous page</button>
        <span>Page {page + 1}</span>
        <button type="button" disabled={!next} onClick={() => {
          if (!next) return;
          const c = cursors.slice(0, page + 1);
          c.push(next);
          setCursors(c);
          setPage(page + 1);
        }}>Next page</button>
      </nav>
    </section>
  );
}

type BulkAction = 'publish' | 'unpublish' | 'delete';

/** BulkActions applies one action to the selected items, in a stage of the
 * editor's choice, in one request (POST /items/bulk: one transaction, all
 * or none); a refusal names each item that cannot be changed, by title. */
function BulkActions({ rows, selected, listStage, done }: { rows: api.Item[]; selected: Set<string>; listStage: string; done: () => void }) {
  const app = useApp();
  const [action, setAction] = useState<BulkAction>('publish');
  const [target, setTarget] = useState('');
  const [busy, setBusy] = useState(false);
  const [failures, setFailures] = useState<string[]>([]);
  const into = target || app.stage;
  const picked = rows.filter((it) => selected.has(it.id));
  const run = async (e: Event) => {
    e.preventDefault();
    if (!picked.length) { announce('Select one or more items first.', 'error'); return; }
    const where = stageLabel(app.stages, into);
    if (action === 'delete' && !confirm(`Delete ${picked.length} item${picked.length === 1 ? '' : 's'} in ${where}?`)) return;
    const verb = action === 'delete' ? 'deleted' : action === 'publish' ? 'published' : 'unpublished';
    const status = action === 'publish' ? 'published' : 'unpublished';
    // In the listed stage, the revision the editor saw must still be the
    // item's (a conflict otherwise); items already so are left alone.
    const listed = into === listStage;
    const send = action === 'delete' ? picked : picked.filter((it) => !listed || it.status !== status);
    const items = send.map((it) => action === 'delete' ? { id: it.id, delete: true }
      : { id: it.id, status, ...(listed ? { base_revision_id: it.revision_id } : {}) });
    setBusy(true);
    setFailures([]);
    try {
      if (items.length) await api.post('/items/bulk', { items, log: `Bulk ${action}` }, { stage: stageParam(into) });
      announce(`${picked.length} item${picked.length === 1 ? '' : 's'} ${verb} in ${where}.`);
      done();
    } catch (x) {
      const err = x as api.ApiError;
      const failed = err.fields.map((f) => {
        const m = /^items\[(\d+)\]/.exec(f.path);
        const it = m ? send[Number(m[1])] : undefined;
        return `${it ? it.title || it.id : f.path}: ${f.message}`;
      });
      if (!failed.length) failed.push(err.message);
      setFailures(failed);
      announce(`Nothing ${verb} in ${where}: ${failed.join('; ')}`, 'error');
    } finally { setBusy(false); }
  };
  return (
    <form class="bulk" aria-label="Bulk actions" onSubmit={run}>
      <span class="bulk-count">{picked.length} selected</span>
      <div class="field">
        <label for="bulk-action">Action</label>
        <select id="bulk-action" value={action} onChange={(e) => setAction((e.target as HTMLSelectElement).value as BulkAction)}>
          <option value="publish">Set published</option>
          <option value="unpublish">Set unpublished</option>
          <option value="delete">Delete</option>
        </select>
      </div>
      <div class="field">
        <label for="bulk-stage">In stage</label>
        <select id="bulk-stage" value={into} onChange={(e) => setTarget((e.target as HTMLSelectElement).value)}>
          <option value={LIVE}>Live</option>
          {app.stages.map((s) => <option value={s.name}>{s.label || s.name}</option>)}
        </select>
      </div>
      <button type="submit" disabled={busy || picked.length === 0}>{busy ? 'Applying…' : 'Apply to selected'}</button>
      {failures.length > 0 && <ul class="field-errors">{failures.map((f) => <li>{f}</li>)}</ul>}
    </form>
  );
}

function NewItemMenu() {
  const app = useApp();
  const [type, setType] = useState('');
  if (app.types.length === 0) return null;
  return (
    <form class="new-item" onSubmit={(e) => { e.preventDefault(); navigate('/content/new/' + (type || app.types[0].name)); }}>
      <label for="new-type">New</label>
      <select id="new-type" value={type || app.types[0].name} onChange={(e) => setType((e.target as HTMLSelectElement).value)}>
        {app.types.map((t) => <option value={t.name}>{t.label || t.name}</option>)}
      </select>
      <button type="submit" class="primary">Create</button>
    </form>
  );
}

