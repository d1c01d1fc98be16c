// Item types and their fields (config documents of kind item_type). A
// change is first sent as a dry run (PUT /types/{name}?dry_run=true): the
// migration report says, field by field, what the change does and which
// stored items it converts or cannot convert. Only a form that was checked
// unchanged can be applied; a refused apply (409) shows its report too.
import { useEffect, useState } from 'preact/hooks';
import * as api from '../api';
import { announce } from '../announce';
import { linkProps, navigate, setLeaveGuard } from '../router';
import { useApp } from '../state';
import { fieldLabel } from '../util';
import { Field } from '../widgets/fields';

const FIELD_TYPES: [string, string][] = [
  ['text', 'Text (one line)'], ['long_text', 'Long text'], ['integer', 'Integer'], ['decimal', 'Decimal'],
  ['boolean', 'Yes / no'], ['date', 'Date'], ['datetime', 'Date and time'], ['email', 'Email'], ['link', 'Link'],
  ['item_ref', 'Reference to an item'], ['term_ref', 'Category'], ['file', 'File'], ['image', 'Image'],
];
const FORMATS = ['plain', 'markdown', 'filtered_html', 'full_html'];

/** Options each field type takes (core.FieldDef); the others are dropped when the type changes. */
const OPTIONS: Record<string, string[]> = {
  text: ['max_length', 'allowed_values'], long_text: ['format', 'max_length'], email: ['max_length'], link: ['max_length'],
  integer: ['min', 'max', 'allowed_values'], decimal: ['min', 'max', 'scale', 'allowed_values'],
  item_ref: ['target_types'], term_ref: ['vocabulary'], file: ['allowed_mime', 'max_size'], image: ['allowed_mime', 'max_size'],
  boolean: [], date: [], datetime: [],
};
const ALL_OPTIONS = ['format', 'max_length', 'min', 'max', 'scale', 'allowed_values', 'target_types', 'vocabulary', 'allowed_mime', 'max_size'];

type FieldDoc = Record<string, any> & { name: string; type: string };
interface TypeDoc { name: string; label: string; description?: string; title_label?: string; fields: FieldDoc[]; [k: string]: any }

interface Migration {
  type: string; from_version: number; to_version: number; instant: boolean; applied: boolean; dry_run: boolean;
  plan: { fields: { field: string; change: string; reasons?: string[] }[] | null };
  converted: { item_id: string; stage: string; title: string }[];
  failed: { item_id: string; stage: string; title: string; problems?: api.FieldError[] }[];
}

export function TypesList() {
  const app = useApp();
  return (
    <section>
      <div class="screen-head">
        <h1>Content types</h1>
        <a class="button primary" {...linkProps('/types/new')}>New content type</a>
      </div>
      <StructureNav current="/types" />
      <table class="list">
        <caption class="visually-hidden">Content types</caption>
        <thead><tr><th scope="col">Type</th><th scope="col">Machine name</th><th scope="col">Fields</th><th scope="col">Version</th></tr></thead>
        <tbody>{app.types.map((t) => (
          <tr><td><a {...linkProps('/types/' + t.name)}>{t.label || t.name}</a></td><td><code>{t.name}</code></td>
            <td>{(t.fields || []).map((f) => f.label || f.name).join(', ')}</td><td>{t.version ?? ''}</td></tr>
        ))}</tbody>
      </table>
    </section>
  );
}

export function StructureNav({ current }: { current: string }) {
  return (
    <nav aria-label="Structure"><ul class="tabs">
      {[['/types', 'Content types'], ['/gathers', 'Gathers'], ['/tiles', 'Tiles'], ['/menus', 'Menus'], ['/categories', 'Categories'], ['/aliases', 'Aliases']].map(([to, label]) => (
        <li><a {...linkProps(to)} aria-current={to === current ? 'page' : undefined}>{label}</a></li>
      ))}
    </ul></nav>
  );
}

/** clean turns the form into the document the API takes: empty options dropped, lists split. */
function clean(t: TypeDoc): TypeDoc {
  const fields = t.fields.map((f) => {
    const out: FieldDoc = { ...f };
    for (const k of ALL_OPTIONS) if (!(OPTIONS[f.type] || []).includes(k)) delete out[k];
    out.default = cleanDefault(out.default);
    for (const k of Object.keys(out)) {
      const v = out[k];
      if (v === '' || v === null || v === undefined || (Array.isArray(v) && v.length === 0) || (k === 'required' && v === false)) delete out[k];
    }
    // Integer and decimal allowed values are JSON numbers in the document.
    if ((out.type === 'integer' || out.type === 'decimal') && Array.isArray(out.allowed_values)) {
      out.allowed_values = out.allowed_values.map((v: unknown) => (typeof v === 'string' && v.trim() !== '' && !isNaN(Number(v)) ? Number(v) : v));
    }
    for (const k of ['max_length', 'scale', 'max_size']) if (typeof out[k] === 'string') out[k] = Number(out[k]);
    if (out.cardinality === 1 || out.cardinality === '1') delete out.cardinality;
    else if (typeof out.cardinality === 'string' && out.cardinality !== 'unlimited') out.cardinality = Number(out.cardinality);
    return out;
  });
  const out: TypeDoc = { ...t, kind: 'item_type', fields };
  for (const k of ['description', 'title_label']) if (!out[k]) delete out[k];
  delete out.version;
  return out;
}

/** cleanDefault drops what the default widgets hold when nothing is given (empty text, a link without URL, empty list entries). */
function cleanDefault(v: any): any {
  const empty = (x: any) => x === null || x === undefined || x === '' || (typeof x === 'object' && !Array.isArray(x) && 'url' in x && !x.url);
  if (Array.isArray(v)) { const l = v.filter((x) => !empty(x)); return l.length ? l : undefined; }
  return empty(v) ? undefined : v;
}

export function TypeEditor({ name }: { name?: string }) {
  const app = useApp();
  const [doc, setDoc] = useState<TypeDoc | null>(name ? null : { name: '', label: '', fields: [] });
  const [error, setError] = useState('');
  const [errors, setErrors] = useState<api.FieldError[]>([]);
  const [report, setReport] = useState<Migration | null>(null);
  const [checked, setChecked] = useState(''); // JSON of the form the report is for
  const [saved, setSaved] = useState(name ? '' : JSON.stringify(clean({ name: '', label: '', fields: [] })));
  const [busy, setBusy] = useState(false);
  const [vocabs, setVocabs] = useState<{ name: string; label?: string }[]>([]);

  useEffect(() => {
    api.all('/vocabularies').then((d) => setVocabs(d.map((x) => api.configBody(x))), () => setVocabs([]));
    if (!name) return;
    api.get('/types/' + encodeURIComponent(name)).then((d) => {
      const t = api.configBody<TypeDoc>(d);
      t.fields = t.fields || [];
      setDoc(t);
      setSaved(JSON.stringify(clean(t)));
    }, (e: api.ApiError) => setError(e.status === 404 ? 'This content type does not exist.' : e.message));
  }, [name]);

  const body = doc ? JSON.stringify(clean(doc)) : '';
  const dirty = doc !== null && body !== saved;
  useEffect(() => {
    setLeaveGuard(dirty ? () => confirm('Leave without applying the changes to this content type?') : null);
    return () => setLeaveGuard(null);
  }, [dirty]);

  if (error) return <section><h1>Content type</h1><p class="error" role="alert">{error}</p></section>;
  if (!doc) return <section><h1>Content type</h1><p role="status">Loading…</p></section>;

  const set = (patch: Partial<TypeDoc>) => setDoc({ ...doc, ...patch });
  const setField = (i: number, f: FieldDoc) => { const fs = doc.fields.slice(); fs[i] = f; set({ fields: fs }); };
  const move = (i: number, d: number) => {
    const j = i + d;
    if (j < 0 || j >= doc.fields.length) return;
    const fs = doc.fields.slice();
    [fs[i], fs[j]] = [fs[j], fs[i]];
    set({ fields: fs });
    announce(`${fs[j].label || fs[j].name || 'Field'} moved ${d < 0 ? 'up' : 'down'}.`, 'info');
    setTimeout(() => document.querySelector<HTMLElement>(`#tf-${j} .${d < 0 ? 'move-up' : 'move-down'}`)?.focus());
  };
  const errFor = (path: string) => errors.filter((e) => e.path === path || e.path.startsWith(path + '.') || e.path.startsWith(path + '['));

  const send = async (dryRun: boolean) => {
    const n = doc.name;
    setBusy(true);
    setErrors([]);
    try {
      const r = await api.put<Migration>('/types/' + encodeURIComponent(n), clean(doc), { dry_run: dryRun ? 'true' : undefined });
      setReport(r);
      if (dryRun) {
        setChecked(body);
        announce(`Checked: ${summary(r)}`);
      } else {
        setSaved(body);
        setChecked('');
        await app.reloadTypes();
        announce(`Content type ${doc.label || n} applied: ${summary(r)}`);
        if (!name) navigate('/types/' + n, { replace: true, force: true });
      }
    } catch (x) {
      const e = x as api.ApiError;
      const rep = e.body && e.body.report && e.body.report.plan ? e.body.report as Migration : null;
      if (rep) { setReport(rep); setChecked(''); }
      setErrors(e.fields);
      announce(`${dryRun ? 'Check failed' : 'Not applied'}: ${e.message}`, 'error');
      setTimeout(() => document.getElementById(rep ? 'type-report' : 'type-errors')?.focus());
    } finally { setBusy(false); }
  };

  const topErrors = errors.filter((e) => !/^fields\[\d+\]/.test(e.path));
  return (
    <section class="type-editor">
      <div class="screen-head">
        <h1>{name ? `Content type: ${doc.label || doc.name}` : 'New content type'}</h1>
        <a {...linkProps('/types')}>All content types</a>
      </div>
      <StructureNav current="/types" />
      {errors.length > 0 && (
        <div id="type-errors" class="error-summary" tabIndex={-1} role="alert">
          <p>The type was not accepted:</p>
          <ul>{errors.map((e) => <li><code>{e.path}</code>: {e.message}</li>)}</ul>
        </div>
      )}
      <form onSubmit={(e) => { e.preventDefault(); send(true); }} noValidate>
        <div class="pair">
          <div class="field"><label for="type-label">Label</label>
            <input id="type-label" type="text" value={doc.label} onInput={(e) => set({ label: (e.target as HTMLInputElement).value })} /></div>
          <div class="field"><label for="type-name">Machine name</label>
            <p class="help" id="type-name-help">a-z, 0-9 and _, starting with a letter; it cannot change later.</p>
            <input id="type-name" type="text" value={doc.name} readOnly={!!name} aria-describedby="type-name-help"
              onInput={(e) => set({ name: (e.target as HTMLInputElement).value })} /></div>
        </div>
        <div class="field"><label for="type-desc">Description</label>
          <input id="type-desc" type="text" value={doc.description || ''} onInput={(e) => set({ description: (e.target as HTMLInputElement).value })} /></div>
        <div class="field"><label for="type-title-label">Title label</label>
          <input id="type-title-label" type="text" value={doc.title_label || ''} placeholder="Title" onInput={(e) => set({ title_label: (e.target as HTMLInputElement).value })} /></div>
        {topErrors.length > 0 && <ul class="field-errors">{topErrors.map((e) => <li>{e.path}: {e.message}</li>)}</ul>}

        <h2>Fields</h2>
        {doc.fields.length === 0 && <p>No fields yet.</p>}
        {doc.fields.map((f, i) => (
          <FieldEditor key={i} index={i} f={f} count={doc.fields.length} vocabs={vocabs} types={app.types}
            errors={errFor(`fields[${i}]`)} onChange={(nf) => setField(i, nf)} onMove={(d) => move(i, d)}
            onRemove={() => {
              set({ fields: doc.fields.filter((_, j) => j !== i) });
              announce(`Field ${f.label || f.name || i + 1} removed: applying deletes its values from every item.`, 'info');
            }} />
        ))}
        <button type="button" onClick={() => {
          set({ fields: [...doc.fields, { name: '', label: '', type: 'text' }] });
          setTimeout(() => document.getElementById(`tf-${doc.fields.length}-label`)?.focus());
        }}>Add a field</button>

        <div class="actions publish-box">
          <button type="submit" disabled={busy || !dirty || !doc.name}>Check the changes</button>
          <button type="button" class="primary" disabled={busy || !dirty || checked !== body} onClick={() => send(false)}>Apply changes</button>
          <span class="muted">{!dirty ? 'No changes.' : checked === body ? 'Checked: the report below is for these changes.' : 'Check the changes to see what they do to stored items before applying them.'}</span>
        </div>
      </form>
      {report && <Report r={report} />}
    </section>
  );
}

function summary(r: Migration): string {
  const n = (r.plan.fields || []).length;
  if (!r.from_version) return 'a new type; no stored item is affected.';
  const head = `${n} field change${n === 1 ? '' : 's'}`;
  if (r.instant) return `${head}; no stored item is affected.`;
  return `${head}; ${r.converted.length} item revision${r.converted.length === 1 ? '' : 's'} ${r.applied ? 'rewritten' : 'to rewrite'}, ${r.failed.length} cannot be converted.`;
}

function Report({ r }: { r: Migration }) {
  return (
    <section id="type-report" class="migration-report" tabIndex={-1} aria-labelledby="type-report-h">
      <h2 id="type-report-h">{r.applied ? 'Applied' : r.dry_run ? 'What applying does' : 'Not applied'}: {r.from_version ? `version ${r.from_version} → ${r.to_version || r.from_version + 1}` : 'a new type'}</h2>
      <p>{summary(r)}</p>
      {(r.plan.fields || []).length > 0 && (
        <table class="list">
          <caption>Field changes</caption>
          <thead><tr><th scope="col">Field</th><th scope="col">Change</th><th scope="col">Why</th></tr></thead>
          <tbody>{(r.plan.fields || []).map((f) => (
            <tr><td><code>{f.field}</code></td><td><span class={'badge ' + f.change}>{f.change}</span></td><td>{(f.reasons || []).join('; ')}</td></tr>
          ))}</tbody>
        </table>
      )}
      {r.failed.length > 0 && (
        <>
          <h3>Items that cannot be converted ({r.failed.length})</h3>
          <p>Nothing is applied while any item cannot be converted: fix these items, or change the type so they fit.</p>
          <ul class="failed-items">{r.failed.map((it) => (
            <li><a {...linkProps('/content/' + it.item_id)}>{it.title || it.item_id}</a> <span class="muted">({it.stage})</span>
              <ul>{(it.problems || []).map((p) => <li><code>{p.path}</code>: {p.message}</li>)}</ul></li>
          ))}</ul>
        </>
      )}
      {r.converted.length > 0 && (
        <details>
          <summary>{r.converted.length} item revision{r.converted.length === 1 ? '' : 's'} {r.applied ? 'rewritten' : 'to rewrite'}</summary>
          <ul>{r.converted.slice(0, 200).map((it) => <li><a {...linkProps('/content/' + it.item_id)}>{it.title || it.item_id}</a> <span class="muted">({it.stage})</span></li>)}</ul>
        </details>
      )}
    </section>
  );
}

function listText(v: unknown): string { return Array.isArray(v) ? v.join(', ') : v == null ? '' : String(v); }
function textList(s: string): string[] { return s.split(',').map((x) => x.trim()).filter(Boolean); }

function FieldEditor({ index, f, count, vocabs, types, errors, onChange, onMove, onRemove }: {
  index: number; f: FieldDoc; count: number; vocabs: { name: string; label?: string }[]; types: api.ItemType[];
  errors: api.FieldError[]; onChange: (f: FieldDoc) => void; onMove: (d: number) => void; onRemove: () => void;
}) {
  const id = `tf-${index}`;
  const opts = OPTIONS[f.type] || [];
  const title = f.label || (f.name ? fieldLabel(f.name) : `Field ${index + 1}`);
  const errOf = (k: string) => errors.filter((e) => e.path === `fields[${index}].${k}` || e.path.startsWith(`fields[${index}].${k}[`)).map((e) => e.message);
  const other = errors.filter((e) => !/^fields\[\d+\]\.[a-z_]+/.test(e.path)).map((e) => e.message);
  const input = (k: string, label: string, props: Record<string, any> = {}, value: string = f[k] == null ? '' : String(f[k]), toValue: (s: string) => any = (s) => s, help?: string) => {
    const errs = errOf(k);
    const ids = [help ? `${id}-${k}-help` : '', errs.length ? `${id}-${k}-err` : ''].filter(Boolean).join(' ') || undefined;
    return (
      <div class="field"><label for={`${id}-${k}`}>{label}</label>
        {help && <p class="help" id={`${id}-${k}-help`}>{help}</p>}
        <input id={`${id}-${k}`} type="text" {...props} value={value} aria-invalid={errs.length ? 'true' : undefined} aria-describedby={ids}
          onInput={(e) => onChange({ ...f, [k]: toValue((e.target as HTMLInputElement).value) })} />
        {errs.length > 0 && <p class="field-errors" id={`${id}-${k}-err`}>{errs.join('; ')}</p>}
      </div>
    );
  };
  const card = f.cardinality === 'unlimited' ? 'unlimited' : f.cardinality && Number(f.cardinality) > 1 ? 'n' : '1';
  return (
    <fieldset id={id} class={'type-field' + (errors.length ? ' has-error' : '')}>
      <legend>{title} <span class="muted">({FIELD_TYPES.find(([t]) => t === f.type)?.[1] || f.type})</span></legend>
      <div class="row-actions">
        <button type="button" class="small move-up" disabled={index === 0} onClick={() => onMove(-1)} aria-label={`Move ${title} up`}>↑</button>
        <button type="button" class="small move-down" disabled={index === count - 1} onClick={() => onMove(1)} aria-label={`Move ${title} down`}>↓</button>
        <button type="button" class="small danger" onClick={onRemove}>Remove<span class="visually-hidden"> {title}</span></button>
      </div>
      {other.length > 0 && <p class="field-errors">{other.join('; ')}</p>}
      <div class="pair">
        {input('label', 'Label')}
        {input('name', 'Machine name', {}, f.name, (s) => s)}
        <div class="field"><label for={`${id}-type`}>Type</label>
          <select id={`${id}-type`} value={f.type} onChange={(e) => onChange({ ...f, type: (e.target as HTMLSelectElement).value, default: undefined })}>
            {FIELD_TYPES.map(([t, l]) => <option value={t}>{l}</option>)}
          </select></div>
      </div>
      {input('description', 'Help text')}
      <DefaultValue id={id} f={f} errors={errOf('default')} onChange={(v) => onChange({ ...f, default: v })} />
      <div class="pair">
        <label class="check"><input type="checkbox" checked={!!f.required} onChange={(e) => onChange({ ...f, required: (e.target as HTMLInputElement).checked })} /> Required</label>
        <div class="field"><label for={`${id}-card`}>Values</label>
          <select id={`${id}-card`} value={card} onChange={(e) => {
            const v = (e.target as HTMLSelectElement).value;
            onChange({ ...f, cardinality: v === '1' ? undefined : v === 'unlimited' ? 'unlimited' : 2 });
          }}>
            <option value="1">One value</option><option value="n">At most…</option><option value="unlimited">Any number</option>
          </select></div>
        {card === 'n' && input('cardinality', 'Most values', { type: 'number', min: 2 }, String(f.cardinality), (s) => s)}
      </div>
      {opts.length > 0 && (
        <div class="pair type-options">
          {opts.includes('format') && (
            <div class="field"><label for={`${id}-format`}>Text format</label>
              <select id={`${id}-format`} value={f.format || 'plain'} onChange={(e) => onChange({ ...f, format: (e.target as HTMLSelectElement).value })}>
                {FORMATS.map((x) => <option value={x}>{x}</option>)}
              </select></div>
          )}
          {opts.includes('max_length') && input('max_length', 'Most characters', { type: 'number', min: 1 })}
          {opts.includes('min') && input('min', 'Minimum')}
          {opts.includes('max') && input('max', 'Maximum')}
          {opts.includes('scale') && input('scale', 'Digits after the point', { type: 'number', min: 0 })}
          {opts.includes('allowed_values') && input('allowed_values', 'Allowed values', {}, listText(f.allowed_values), textList, 'Separated by commas; empty allows any.')}
          {opts.includes('allowed_mime') && input('allowed_mime', 'Allowed file types', {}, listText(f.allowed_mime), textList, 'MIME types separated by commas, such as image/png, image/*.')}
          {opts.includes('max_size') && input('max_size', 'Largest file (bytes)', { type: 'number', min: 1 })}
          {opts.includes('vocabulary') && (
            <div class="field"><label for={`${id}-vocabulary`}>Vocabulary</label>
              <select id={`${id}-vocabulary`} value={f.vocabulary || ''} aria-invalid={errOf('vocabulary').length ? 'true' : undefined}
                onChange={(e) => onChange({ ...f, vocabulary: (e.target as HTMLSelectElement).value })}>
                <option value="">(choose)</option>
                {vocabs.map((v) => <option value={v.name}>{v.label || v.name}</option>)}
              </select>
              {errOf('vocabulary').length > 0 && <p class="field-errors">{errOf('vocabulary').join('; ')}</p>}</div>
          )}
          {opts.includes('target_types') && (
            <fieldset><legend>May point to</legend>
              {types.map((t) => (
                <label class="check"><input type="checkbox" checked={(f.target_types || []).includes(t.name)} onChange={(e) => {
                  const cur: string[] = f.target_types || [];
                  onChange({ ...f, target_types: (e.target as HTMLInputElement).checked ? [...cur, t.name] : cur.filter((x) => x !== t.name) });
                }} /> {t.label || t.name}</label>
              ))}
              <p class="help">None checked: any type.</p>
            </fieldset>
          )}
        </div>
      )}
    </fieldset>
  );
}

/** DefaultValue edits a field's default (the value a new item starts with,
 * and that an item saved without one gets) with the field's own widget. */
function DefaultValue({ id, f, errors, onChange }: { id: string; f: FieldDoc; errors: string[]; onChange: (v: any) => void }) {
  const help = 'New items start with it; an item saved without a value gets it.';
  if (f.type === 'file' || f.type === 'image') return null;
  if (f.type === 'term_ref' && !f.vocabulary) return <p class="help">Choose a vocabulary to give this field a default.</p>;
  if (f.type === 'boolean' && !(f.cardinality && f.cardinality !== 1)) {
    const errId = errors.length ? `${id}-default-err` : undefined;
    return (
      <div class={'field' + (errors.length ? ' has-error' : '')}><label for={`${id}-default`}>Default value</label>
        <p class="help" id={`${id}-default-help`}>{help}</p>
        <select id={`${id}-default`} value={f.default === true ? 'true' : f.default === false ? 'false' : ''} aria-invalid={errors.length ? 'true' : undefined}
          aria-describedby={[`${id}-default-help`, errId].filter(Boolean).join(' ')}
          onChange={(e) => { const v = (e.target as HTMLSelectElement).value; onChange(v === '' ? undefined : v === 'true'); }}>
          <option value="">(none)</option><option value="true">Yes</option><option value="false">No</option>
        </select>
        {errId && <p class="field-errors" id={errId}>{errors.join('; ')}</p>}
      </div>
    );
  }
  // Long text defaults are edited as one line of text (no Markdown editor in this form).
  const def = { ...f, name: 'default', label: 'Default value', description: help, required: false, type: f.type === 'long_text' ? 'text' : f.type } as unknown as api.FieldDef;
  return <Field def={def} value={f.default ?? null} onChange={onChange} errors={errors} idPrefix={id} />;
}
