import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import * as api from '../api';
import { announce } from '../announce';
import { linkProps, navigate, setLeaveGuard } from '../router';
import { stageLabel, stageParam, useApp, LIVE } from '../state';
import { Field } from '../widgets/fields';
import { fmtDate } from '../util';

interface Form {
  title: string;
  status: string;
  promote: boolean;
  sticky: boolean;
  fields: Record<string, any>;
}

const DRAFT_MS = 3000;

function localDraftKey(id: string | undefined, type: string, stage: string) {
  return `trovato.draft.${stage}.${id || 'new-' + type}`;
}

/** errorsByField groups API field errors ("fields.body[1].alt") by field name, and "title". */
function errorsByField(errs: api.FieldError[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of errs) {
    let key = e.path;
    let rest = '';
    const m = /^fields\.([A-Za-z0-9_]+)(.*)$/.exec(e.path);
    if (m) { key = m[1]; rest = m[2]; } else { key = e.path.split(/[.[]/)[0]; rest = e.path.slice(key.length); }
    const pos = /^\[(\d+)\]/.exec(rest);
    const msg = (pos ? `Value ${Number(pos[1]) + 1}: ` : '') + e.message;
    (out[key] ||= []).push(msg);
  }
  return out;
}

export function ItemEditor({ id, newType }: { id?: string; newType?: string }) {
  const app = useApp();
  const [item, setItem] = useState<api.Item | null>(null);
  const [type, setType] = useState<api.ItemType | null>(null);
  const [form, setForm] = useState<Form | null>(null);
  const [saved, setSaved] = useState<string>(''); // JSON of the last saved form
  const [errors, setErrors] = useState<Record<string, string[]>>({});
  const [summary, setSummary] = useState('');
  const [loadError, setLoadError] = useState('');
  const [busy, setBusy] = useState(false);
  const [log, setLog] = useState('');
  const [draft, setDraft] = useState<{ form: Form; at?: string } | null>(null);
  const [draftState, setDraftState] = useState('');
  const [conflict, setConflict] = useState<api.Item | null>(null);
  const [preview, setPreview] = useState(false);
  const [epoch, setEpoch] = useState(0); // bumped when the form is replaced from outside
  const summaryRef = useRef<HTMLDivElement>(null);
  const typeName = newType || item?.type || '';
  const stage = app.stage;

  // Load the item (or start a new one) and its type.
  useEffect(() => {
    let gone = false;
    (async () => {
      try {
        let it: api.Item | null = null;
        if (id) {
          it = await api.get<api.Item>('/items/' + id, { stage: stageParam(stage) });
          if (gone) return;
          setItem(it);
        }
        const tn = newType || it!.type;
        let t = app.types.find((x) => x.name === tn) || null;
        if (!t || !t.fields) {
          // The list the app reads (started at boot on a cold load).
          try { t = (await api.loadTypes()).find((x) => x.name === tn) || t; } catch { /* ask for the one type */ }
        }
        if (!t || !t.fields) {
          try { t = api.configBody<api.ItemType>(await api.get('/types/' + encodeURIComponent(tn))); } catch { /* use what the list had */ }
        }
        if (gone) return;
        if (!t) throw new api.ApiError(404, 'not_found', `There is no content type "${tn}".`);
        setType(t);
        const f: Form = it
          ? { title: it.title, status: it.status, promote: !!it.promote, sticky: !!it.sticky, fields: { ...(it.fields || {}) } }
          : { title: '', status: 'unpublished', promote: false, sticky: false, fields: defaults(t) };
        setForm(f);
        setSaved(JSON.stringify(f));
        // A draft newer than the saved item is offered, never applied silently.
        const d = await loadDraft(id, tn, stage);
        if (!gone && d && JSON.stringify(d.form) !== JSON.stringify(f)) setDraft(d);
      } catch (e) {
        if (!gone) setLoadError((e as api.ApiError).status === 404 ? 'This content does not exist in this stage, or you may not see it.' : (e as api.ApiError).message);
      }
    })();
    return () => { gone = true; };
  }, [id, newType, stage]);

  const dirty = form !== null && JSON.stringify(form) !== saved;

  // Unsaved-changes guard: leaving the screen and closing the tab.
  useEffect(() => {
    if (!dirty) { setLeaveGuard(null); return; }
    setLeaveGuard(() => confirm('You have unsaved changes. Leave without saving?'));
    const before = (e: BeforeUnloadEvent) => { e.preventDefault(); e.returnValue = ''; };
    window.addEventListener('beforeunload', before);
    return () => { window.removeEventListener('beforeunload', before); setLeaveGuard(null); };
  }, [dirty]);

  // Autosave: a per-user draft, never a revision.
  useEffect(() => {
    if (!dirty || !form || !typeName) return;
    const t = setTimeout(async () => {
      setDraftState('Saving draft…');
      const ok = await saveDraft(id, item?.revision_id, typeName, stage, form);
      setDraftState(ok === 'server' ? `Draft saved ${new Date().toLocaleTimeString()}` : `Draft kept in this browser ${new Date().toLocaleTimeString()}`);
    }, DRAFT_MS);
    return () => clearTimeout(t);
  }, [form, dirty]);

  const save = async (overwrite = false) => {
    if (!form || !type || busy) return;
    setBusy(true);
    setErrors({});
    setSummary('');
    const body: any = { title: form.title, status: form.status, promote: form.promote, sticky: form.sticky, fields: cleanFields(form.fields), log };
    try {
      let it: api.Item;
      if (id && item) {
        body.base_revision_id = overwrite && conflict ? conflict.revision_id : item.revision_id;
        it = await api.patch<api.Item>('/items/' + id, body, { stage: stageParam(stage) });
      } else {
        body.type = type.name;
        it = await api.post<api.Item>('/items', body, { stage: stageParam(stage) });
      }
      const f: Form = { title: it.title ?? form.title, status: it.status ?? form.status, promote: it.promote ?? form.promote, sticky: it.sticky ?? form.sticky, fields: it.fields ?? form.fields };
      setItem(it);
      setForm(f);
      setSaved(JSON.stringify(f));
      setLog('');
      setConflict(null);
      setDraft(null);
      setDraftState('');
      await dropDraft(id, type.name, stage);
      if (id) await dropDraft(undefined, type.name, stage);
      announce(`Saved “${it.title}” in ${stageLabel(app.stages, stage)}.`);
      if (!id) navigate('/content/' + it.id, { replace: true, force: true });
    } catch (err) {
      const e = err as api.ApiError;
      if (e.status === 409 || e.code === 'conflict') {
        let current: api.Item | null = (e.body && e.body.current) || null;
        if (!current && id) { try { current = await api.get<api.Item>('/items/' + id, { stage: stageParam(stage) }); } catch { /* keep null */ } }
        setConflict(current);
        setSummary('Someone else saved this item since you opened it. Review their version, then keep yours or load theirs.');
        announce('Not saved: someone else changed this item.', 'error');
      } else {
        setErrors(errorsByField(e.fields || []));
        const n = (e.fields || []).length;
        setSummary(n ? `Not saved: ${n} problem${n === 1 ? '' : 's'} to fix. ${e.message}` : `Not saved: ${e.message}`);
        announce(n ? `Not saved: ${n} problem${n === 1 ? '' : 's'} to fix.` : `Not saved: ${e.message}`, 'error');
      }
      setTimeout(() => summaryRef.current?.focus());
    } finally {
      setBusy(false);
    }
  };

  // Ctrl+S / Cmd+S saves.
  const saveRef = useRef(save);
  saveRef.current = save;
  useEffect(() => {
    const key = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === 's') { e.preventDefault(); saveRef.current(); }
    };
    window.addEventListener('keydown', key);
    return () => window.removeEventListener('keydown', key);
  }, []);

  const fieldDefs = useMemo(() => type?.fields || [], [type]);

  if (loadError) return <section><h1>Content</h1><p class="error" role="alert">{loadError}</p><p><a {...linkProps('/content')}>Back to the content list</a></p></section>;
  if (!form || !type) return <section aria-busy="true"><h1>Content</h1><p role="status">Loading…</p></section>;

  const set = (patch: Partial<Form>) => setForm({ ...form, ...patch });
  const setField = (name: string, v: any) => setForm({ ...form, fields: { ...form.fields, [name]: v } });
  const titleErr = errors.title || [];
  const other = Object.entries(errors).filter(([k]) => k !== 'title' && !fieldDefs.some((f) => f.name === k) && !['status', 'promote', 'sticky'].includes(k));

  return (
    <section class="editor">
      <div class="screen-head">
        <h1>{id ? `Edit ${type.label || type.name}` : `New ${type.label || type.name}`}{id && <span class="visually-hidden">: {item?.title}</span>}</h1>
        <div class="head-meta">
          <span class={'stage-pill' + (stage === LIVE ? '' : ' staged')}>Editing in {stageLabel(app.stages, stage)}</span>
          {item && <span class="muted">Last saved {fmtDate(item.changed_at)}</span>}
          <span class="muted" aria-live="polite">{dirty ? 'Unsaved changes' : 'All changes saved'}{draftState && dirty ? ` · ${draftState}` : ''}</span>
        </div>
      </div>

      {draft && (
        <div class="notice" role="region" aria-label="Draft">
          <p>You have an autosaved draft of this item{draft.at ? ` from ${fmtDate(draft.at)}` : ''} that was not saved.</p>
          <button type="button" onClick={() => { setForm(draft.form); setEpoch(epoch + 1); setDraft(null); announce('Draft restored. Save to keep it.', 'info'); }}>Restore draft</button>{' '}
          <button type="button" class="link" onClick={async () => { await dropDraft(id, typeName, stage); setDraft(null); }}>Discard draft</button>
        </div>
      )}

      <div ref={summaryRef} tabIndex={-1} class={summary ? 'error-summary' : ''}>
        {summary && (
          <>
            <p>{summary}</p>
            {Object.keys(errors).length > 0 && (
              <ul>
                {Object.entries(errors).map(([k, msgs]) => (
                  <li><a href={'#ed-' + k} onClick={(e) => { e.preventDefault(); focusField(k); }}>{k === 'title' ? (type.title_label || 'Title') : fieldDefs.find((f) => f.name === k)?.label || k}</a>: {msgs.join('; ')}</li>
                ))}
              </ul>
            )}
            {conflict && (
              <div class="conflict">
                <p>Their version: “{conflict.title}”, saved {fmtDate(conflict.changed_at)}.</p>
                <button type="button" onClick={() => save(true)}>Keep mine (overwrite theirs)</button>{' '}
                <button type="button" onClick={() => {
                  const f: Form = { title: conflict.title, status: conflict.status, promote: !!conflict.promote, sticky: !!conflict.sticky, fields: conflict.fields || {} };
                  setItem(conflict); setForm(f); setEpoch(epoch + 1); setSaved(JSON.stringify(f)); setConflict(null); setSummary('');
                  announce('Loaded their version. Your changes were discarded.', 'info');
                }}>Load theirs (discard mine)</button>
              </div>
            )}
          </>
        )}
      </div>

      <form class="item-form" onSubmit={(e) => { e.preventDefault(); save(); }} noValidate>
        <div class={'field field-title' + (titleErr.length ? ' has-error' : '')} data-field="title">
          <label for="ed-title">{type.title_label || 'Title'}<span class="req" aria-hidden="true"> *</span><span class="visually-hidden"> (required)</span></label>
          <input id="ed-title" type="text" required maxLength={255} value={form.title} aria-invalid={titleErr.length ? 'true' : undefined}
            aria-describedby={titleErr.length ? 'ed-title-err' : undefined} onInput={(e) => set({ title: (e.target as HTMLInputElement).value })} />
          {titleErr.length > 0 && <ul class="field-errors" id="ed-title-err">{titleErr.map((m) => <li>{m}</li>)}</ul>}
        </div>

        {fieldDefs.map((def) => (
          <Field key={def.name + ':' + epoch} def={def} idPrefix="ed" value={form.fields[def.name]} errors={errors[def.name] || []} onChange={(v) => setField(def.name, v)} />
        ))}

        {other.length > 0 && <ul class="field-errors">{other.map(([k, m]) => <li>{k}: {m.join('; ')}</li>)}</ul>}

        <fieldset class="publishing">
          <legend>Publishing</legend>
          <div class="field">
            <label for="ed-status">Status</label>
            <select id="ed-status" value={form.status} onChange={(e) => set({ status: (e.target as HTMLSelectElement).value })}>
              <option value="published">Published</option>
              <option value="unpublished">Unpublished</option>
            </select>
          </div>
          <label class="check"><input type="checkbox" checked={form.promote} onChange={(e) => set({ promote: (e.target as HTMLInputElement).checked })} /> Promoted to the front page</label>
          <label class="check"><input type="checkbox" checked={form.sticky} onChange={(e) => set({ sticky: (e.target as HTMLInputElement).checked })} /> Sticky at the top of lists</label>
          <div class="field">
            <label for="ed-log">Revision note</label>
            <input id="ed-log" type="text" value={log} onInput={(e) => setLog((e.target as HTMLInputElement).value)} placeholder="What changed (optional)" />
          </div>
        </fieldset>

        <div class="actions sticky-actions">
          <button type="submit" class="primary" disabled={busy} aria-keyshortcuts="Control+S">{busy ? 'Saving…' : 'Save'}</button>
          <span class="muted kbd-hint">Ctrl+S</span>
          {id && <a {...linkProps(`/content/${id}/revisions`)}>Revisions</a>}
          {id && <a href={item?.url || item?.path || `/item/${id}`} target="_blank" rel="noopener">View in {stageLabel(app.stages, stage)}<span class="visually-hidden"> (opens a new tab)</span></a>}
          {id && <button type="button" aria-expanded={preview} aria-controls="page-preview" onClick={() => setPreview(!preview)}>{preview ? 'Hide page preview' : 'Preview page'}</button>}
          {id && <DeleteButton id={id} title={form.title} />}
        </div>
      </form>
      {id && preview && <PagePreview id="page-preview" stage={stage} path={`/item/${id}`} title={form.title} version={item?.revision_id || ''} />}
    </section>
  );
}

function DeleteButton({ id, title }: { id: string; title: string }) {
  const app = useApp();
  return (
    <button type="button" class="danger" onClick={async () => {
      const where = app.stage === LIVE ? 'from the live site' : `in ${stageLabel(app.stages, app.stage)} (it is removed from live when the stage is published)`;
      if (!confirm(`Delete “${title}” ${where}?`)) return;
      try {
        await api.del('/items/' + id, { stage: stageParam(app.stage) });
        announce(`Deleted “${title}”.`);
        navigate('/content', { force: true });
      } catch (e) { announce(`Not deleted: ${(e as api.ApiError).message}`, 'error'); }
    }}>Delete</button>
  );
}

function focusField(name: string) {
  const el = document.querySelector<HTMLElement>(`[data-field="${name}"] input, [data-field="${name}"] select, [data-field="${name}"] textarea, [data-field="${name}"] [contenteditable]`);
  el?.focus();
}

function defaults(t: api.ItemType): Record<string, any> {
  const f: Record<string, any> = {};
  for (const d of t.fields || []) if (d.default !== undefined && d.default !== null) f[d.name] = d.default;
  return f;
}

/** cleanFields drops empty list entries and empty values the API would refuse as a type error. */
function cleanFields(fields: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (Array.isArray(v)) {
      const list = v.filter((x) => x !== null && x !== '' && x !== undefined && !(typeof x === 'object' && 'url' in x && !x.url));
      out[k] = list;
    } else if (v && typeof v === 'object' && 'url' in v && !v.url) {
      out[k] = null;
    } else {
      out[k] = v === '' ? null : v;
    }
  }
  return out;
}

// ---- drafts: the API's per-user draft, or this browser's storage ----

async function loadDraft(id: string | undefined, type: string, stage: string): Promise<{ form: Form; at?: string } | null> {
  if (id) {
    try {
      const d = await api.get('/items/' + id + '/draft', { stage: stageParam(stage) });
      if (d && d.doc) {
        const doc = d.doc;
        return { form: { title: doc.title ?? '', status: doc.status ?? 'unpublished', promote: !!doc.promote, sticky: !!doc.sticky, fields: doc.fields || {} }, at: d.updated_at };
      }
    } catch { /* none on the server: look locally */ }
  }
  try {
    const s = localStorage.getItem(localDraftKey(id, type, stage));
    if (s) return JSON.parse(s);
  } catch { /* ignore */ }
  return null;
}

async function saveDraft(id: string | undefined, base: string | undefined, type: string, stage: string, form: Form): Promise<'server' | 'local'> {
  if (id) {
    try {
      await api.put('/items/' + id + '/draft', {
        base_revision_id: base,
        doc: { title: form.title, status: form.status, promote: form.promote, sticky: form.sticky, fields: form.fields },
      }, { stage: stageParam(stage) });
      return 'server';
    } catch { /* fall back to this browser */ }
  }
  try { localStorage.setItem(localDraftKey(id, type, stage), JSON.stringify({ form, at: new Date().toISOString() })); } catch { /* full */ }
  return 'local';
}

async function dropDraft(id: string | undefined, type: string, stage: string) {
  try { localStorage.removeItem(localDraftKey(id, type, stage)); } catch { /* ignore */ }
  if (id) { try { await api.del('/items/' + id + '/draft', { stage: stageParam(stage) }); } catch { /* none */ } }
}

/** PagePreview shows the page as the site renders it in the stage (the
 * saved revision), in a sandboxed frame: no scripts, no navigation. */
export function PagePreview({ id, stage, path, title, version }: { id: string; stage: string; path: string; title: string; version: string }) {
  const [html, setHtml] = useState<string | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    setHtml(null);
    api.previewPage(stage, path).then((h) => { setHtml(h); setError(''); }, (e: api.ApiError) => setError(e.message));
  }, [stage, path, version]);
  return (
    <section id={id} class="page-preview" aria-label={`Page preview in ${stage}`}>
      <h2>Page preview <span class="muted">({stage === LIVE ? 'live' : stage}, last saved revision)</span></h2>
      {error ? <p class="error">{error}</p> : html === null ? <p role="status">Loading the preview…</p> :
        <iframe title={`Preview of ${title}`} sandbox="" srcdoc={html} />}
    </section>
  );
}
