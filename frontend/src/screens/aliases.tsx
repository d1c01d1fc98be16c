// Path aliases: a staged kind ({alias, path, language}), read and written in
// the current stage like items (PUT with the revision it started from).
import { useEffect, useState } from 'preact/hooks';
import * as api from '../api';
import { announce } from '../announce';
import { stageLabel, stageParam, useApp } from '../state';
import { StructureNav } from './types';

export interface Alias { id: string; alias: string; path: string; language?: string; revision_id?: string }

/** fieldErrors maps the API's field errors by their first path segment ("doc.alias" -> "alias"). */
export function fieldErrors(e: api.ApiError): Record<string, string> {
  const m: Record<string, string> = {};
  for (const f of e.fields) {
    const k = f.path.replace(/^doc\./, '').split(/[.[]/)[0];
    m[k] = m[k] ? `${m[k]}; ${f.message}` : f.message;
  }
  if (!e.fields.length) m._ = e.message;
  return m;
}

export function Aliases() {
  const app = useApp();
  const [rows, setRows] = useState<Alias[] | null>(null);
  const [error, setError] = useState('');
  const [filter, setFilter] = useState('');
  const [editing, setEditing] = useState<Alias | null>(null);
  const where = stageLabel(app.stages, app.stage);

  const load = () => {
    api.all('/aliases', { stage: stageParam(app.stage) }, 5000).then(
      (d) => { setRows(d.map((x) => api.staged<Alias>(x)).sort((a, b) => a.alias.localeCompare(b.alias))); setError(''); },
      (e: api.ApiError) => { setRows([]); setError(e.status === 403 ? 'You may not see path aliases.' : e.message); });
  };
  useEffect(load, [app.stage]);

  const remove = async (a: Alias) => {
    if (!confirm(`Delete the alias ${a.alias} in ${where}?`)) return;
    try {
      await api.del('/aliases/' + a.id, { stage: stageParam(app.stage) });
      announce(`Alias ${a.alias} deleted in ${where}.`);
      load();
    } catch (e) { announce(`Not deleted: ${(e as api.ApiError).message}`, 'error'); }
  };

  const f = filter.trim().toLowerCase();
  const shown = (rows || []).filter((a) => !f || a.alias.toLowerCase().includes(f) || a.path.toLowerCase().includes(f));
  return (
    <section>
      <h1>Path aliases</h1>
      <StructureNav current="/aliases" />
      <p>An alias gives a page a readable address: visitors who ask for the alias see the page at its system path. Changes go into {where}.</p>
      {error && <p class="error" role="alert">{error}</p>}
      {rows === null && <p role="status">Loading…</p>}
      {rows && rows.length > 0 && (
        <div class="field">
          <label for="alias-filter">Show aliases containing</label>
          <input id="alias-filter" type="search" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
        </div>
      )}
      {rows && (
        <table class="list">
          <caption class="visually-hidden">Path aliases in {where}</caption>
          <thead><tr><th scope="col">Alias</th><th scope="col">System path</th><th scope="col">Language</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            {shown.map((a) => (
              <tr>
                <td><code>{a.alias}</code></td><td><code>{a.path}</code></td><td>{a.language || ''}</td>
                <td class="row-actions">
                  <button type="button" class="small" onClick={() => setEditing(a)}>Edit<span class="visually-hidden"> {a.alias}</span></button>{' '}
                  <button type="button" class="small danger" onClick={() => remove(a)}>Delete<span class="visually-hidden"> {a.alias}</span></button>
                </td>
              </tr>
            ))}
            {shown.length === 0 && <tr><td colSpan={4}>No aliases{f ? ' match' : ''}.</td></tr>}
          </tbody>
        </table>
      )}
      <AliasForm key={editing?.id || 'new'} alias={editing} done={() => { setEditing(null); load(); }} />
    </section>
  );
}

function AliasForm({ alias, done }: { alias: Alias | null; done: () => void }) {
  const app = useApp();
  const [a, setA] = useState(alias?.alias || '');
  const [path, setPath] = useState(alias?.path || '');
  const [lang, setLang] = useState(alias?.language || '');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const where = stageLabel(app.stages, app.stage);
  useEffect(() => { if (alias) document.getElementById('alias-alias')?.focus(); }, [alias]);

  const save = async (e: Event) => {
    e.preventDefault();
    const m: Record<string, string> = {};
    if (!a.startsWith('/')) m.alias = 'starts with /';
    if (!path.startsWith('/')) m.path = 'starts with /';
    setErrors(m);
    if (Object.keys(m).length) { announce('Not saved: check the fields marked.', 'error'); return; }
    setBusy(true);
    const doc = { alias: a, path, ...(lang ? { language: lang } : {}) };
    const q = { stage: stageParam(app.stage) };
    try {
      if (alias) await api.put('/aliases/' + alias.id, { base_revision_id: alias.revision_id, doc, log: 'Edited in the editor' }, q);
      else await api.post('/aliases', { doc, log: 'Added in the editor' }, q);
      announce(`Alias ${a} saved in ${where}.`);
      done();
    } catch (x) {
      const err = x as api.ApiError;
      setErrors(fieldErrors(err));
      announce(`Alias not saved: ${err.message}`, 'error');
    } finally { setBusy(false); }
  };

  const input = (id: string, key: string, label: string, value: string, set: (v: string) => void, help?: string) => (
    <div class="field">
      <label for={id}>{label}</label>
      {help && <p class="help" id={id + '-help'}>{help}</p>}
      <input id={id} type="text" value={value} aria-invalid={errors[key] ? 'true' : undefined}
        aria-describedby={[help ? id + '-help' : '', errors[key] ? id + '-err' : ''].filter(Boolean).join(' ') || undefined}
        onInput={(e) => set((e.target as HTMLInputElement).value)} />
      {errors[key] && <p class="field-errors" id={id + '-err'}>{errors[key]}</p>}
    </div>
  );
  return (
    <form class="inline-form" onSubmit={save} noValidate aria-labelledby="alias-form-h">
      <h2 id="alias-form-h">{alias ? `Edit alias ${alias.alias}` : 'Add an alias'}</h2>
      {errors._ && <p class="error">{errors._}</p>}
      {input('alias-alias', 'alias', 'Alias', a, setA, 'The readable address, such as /about/team.')}
      {input('alias-path', 'path', 'System path', path, setPath, 'The page it stands for, such as /item/ID.')}
      {input('alias-lang', 'language', 'Language (optional)', lang, setLang)}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy || !a || !path}>{alias ? 'Save alias' : 'Add alias'}</button>
        {alias && <button type="button" onClick={done}>Cancel</button>}
      </div>
    </form>
  );
}
