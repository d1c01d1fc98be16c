// One widget per field type (core/field.go gives each value's JSON shape),
// and the list wrapper for multi-valued fields.
import { useEffect, useRef, useState } from 'preact/hooks';
import * as api from '../api';
import { MarkdownEditor } from './markdown';
import { fieldLabel, fmtBytes } from '../util';
import { stageParam, useApp } from '../state';
import { announce } from '../announce';
import { MediaPicker, uploadFile } from '../screens/media';

export interface WidgetProps {
  def: api.FieldDef;
  id: string;
  value: any;
  onChange: (v: any) => void;
  describedBy?: string;
  invalid?: boolean;
  labelId: string;
  label: string;
}

export function isMultiple(def: api.FieldDef): boolean {
  return def.cardinality === 'unlimited' || (typeof def.cardinality === 'number' && (def.cardinality > 1 || def.cardinality < 0));
}

function maxValues(def: api.FieldDef): number {
  return typeof def.cardinality === 'number' && def.cardinality > 1 ? def.cardinality : Infinity;
}

export function emptyValue(def: api.FieldDef): any {
  switch (def.type) {
    case 'boolean': return false;
    case 'link': return { url: '', title: '' };
    case 'image': return null;
    case 'file': case 'item_ref': case 'term_ref': return null;
    case 'integer': case 'decimal': return null;
    default: return '';
  }
}

/** Field renders one field with its label, help, errors and widget(s). */
export function Field({ def, value, onChange, errors, idPrefix }: {
  def: api.FieldDef; value: any; onChange: (v: any) => void; errors: string[]; idPrefix: string;
}) {
  const id = `${idPrefix}-${def.name}`;
  const label = fieldLabel(def.name, def.label);
  const helpId = def.description ? id + '-help' : undefined;
  const errId = errors.length ? id + '-err' : undefined;
  const describedBy = [helpId, errId].filter(Boolean).join(' ') || undefined;
  const invalid = errors.length > 0;
  const multiple = isMultiple(def);
  const group = multiple || def.type === 'link' || def.type === 'image' || def.type === 'file' || def.type === 'boolean';

  const labelEl = def.type === 'boolean' && !multiple ? null : (
    group
      ? <legend id={id + '-label'}>{label}{def.required && <span class="req" aria-hidden="true"> *</span>}{def.required && <span class="visually-hidden"> (required)</span>}</legend>
      : <label id={id + '-label'} for={id}>{label}{def.required && <span class="req" aria-hidden="true"> *</span>}{def.required && <span class="visually-hidden"> (required)</span>}</label>
  );
  const body = multiple
    ? <MultiValue def={def} id={id} value={Array.isArray(value) ? value : value == null ? [] : [value]} onChange={onChange} describedBy={describedBy} invalid={invalid} label={label} />
    : <Widget def={def} id={id} value={value} onChange={onChange} describedBy={describedBy} invalid={invalid} labelId={id + '-label'} label={label} />;
  const inner = (
    <>
      {labelEl}
      {def.description && <p class="help" id={helpId}>{def.description}</p>}
      {body}
      {errId && <ul class="field-errors" id={errId}>{errors.map((m) => <li>{m}</li>)}</ul>}
    </>
  );
  return group
    ? <fieldset class={'field field-' + def.type + (invalid ? ' has-error' : '')} data-field={def.name} aria-describedby={describedBy}>{inner}</fieldset>
    : <div class={'field field-' + def.type + (invalid ? ' has-error' : '')} data-field={def.name}>{inner}</div>;
}

function MultiValue({ def, id, value, onChange, describedBy, invalid, label }: {
  def: api.FieldDef; id: string; value: any[]; onChange: (v: any[]) => void; describedBy?: string; invalid: boolean; label: string;
}) {
  const listRef = useRef<HTMLOListElement>(null);
  const focusRow = (i: number) => setTimeout(() => {
    const row = listRef.current?.children[i] as HTMLElement | undefined;
    row?.querySelector<HTMLElement>('input, select, textarea, [contenteditable], button')?.focus();
  });
  const move = (i: number, d: number) => {
    const j = i + d;
    if (j < 0 || j >= value.length) return;
    const v = value.slice();
    [v[i], v[j]] = [v[j], v[i]];
    onChange(v);
    announce(`${label} value ${i + 1} moved to position ${j + 1}.`, 'info');
    setTimeout(() => {
      const row = listRef.current?.children[j] as HTMLElement | undefined;
      row?.querySelector<HTMLElement>(d < 0 ? '.move-up' : '.move-down')?.focus();
    });
  };
  return (
    <div class="multi">
      <ol ref={listRef}>
        {value.map((v, i) => (
          <li key={i}>
            <Widget def={def} id={`${id}-${i}`} value={v} label={`${label} ${i + 1}`} labelId={`${id}-${i}-label`}
              onChange={(nv) => { const a = value.slice(); a[i] = nv; onChange(a); }} describedBy={describedBy} invalid={invalid} />
            <span id={`${id}-${i}-label`} class="visually-hidden">{label} {i + 1}</span>
            <div class="row-actions">
              <button type="button" class="small move-up" disabled={i === 0} onClick={() => move(i, -1)} aria-label={`Move ${label} ${i + 1} up`}>↑</button>
              <button type="button" class="small move-down" disabled={i === value.length - 1} onClick={() => move(i, 1)} aria-label={`Move ${label} ${i + 1} down`}>↓</button>
              <button type="button" class="small danger" onClick={() => { const a = value.slice(); a.splice(i, 1); onChange(a); focusRow(Math.max(0, i - 1)); }} aria-label={`Remove ${label} ${i + 1}`}>Remove</button>
            </div>
          </li>
        ))}
      </ol>
      {value.length < maxValues(def) && (
        <button type="button" class="small" onClick={() => { onChange([...value, emptyValue(def)]); focusRow(value.length); }}>
          Add {value.length ? 'another' : 'a'} value<span class="visually-hidden"> to {label}</span>
        </button>
      )}
    </div>
  );
}

export function Widget(p: WidgetProps) {
  const { def, id, value, onChange, describedBy, invalid } = p;
  const common = { id, 'aria-describedby': describedBy, 'aria-invalid': invalid ? 'true' as const : undefined, required: def.required };
  const multiple = isMultiple(def);
  const aria = multiple ? { 'aria-label': p.label } : {};
  switch (def.type) {
    case 'long_text':
      if ((def.format || 'markdown') === 'markdown') return <LongText {...p} />;
      return <textarea {...common} {...aria} rows={8} value={value ?? ''} maxLength={def.max_length}
        onInput={(e) => onChange((e.target as HTMLTextAreaElement).value)} />;
    case 'integer':
      return <input {...common} {...aria} type="number" inputMode="numeric" step="1" min={def.min as any} max={def.max as any} value={value ?? ''}
        onInput={(e) => { const s = (e.target as HTMLInputElement).value; onChange(s === '' ? null : Number.isSafeInteger(Number(s)) ? Number(s) : s); }} />;
    case 'decimal':
      return <input {...common} {...aria} type="text" inputMode="decimal" pattern="-?[0-9]*([.][0-9]+)?" value={value ?? ''}
        onInput={(e) => { const s = (e.target as HTMLInputElement).value; onChange(s === '' ? null : s); }} />;
    case 'boolean':
      return (
        <label class="check" id={multiple ? undefined : p.labelId}>
          <input {...common} type="checkbox" checked={!!value} required={false} onChange={(e) => onChange((e.target as HTMLInputElement).checked)} />
          {' '}{p.label}
        </label>
      );
    case 'date':
      return <input {...common} {...aria} type="date" value={value ?? ''} onInput={(e) => onChange((e.target as HTMLInputElement).value || null)} />;
    case 'datetime':
      return <DateTime {...p} />;
    case 'email':
      return <input {...common} {...aria} type="email" autoComplete="off" value={value ?? ''} maxLength={def.max_length}
        onInput={(e) => onChange((e.target as HTMLInputElement).value)} />;
    case 'link':
      return <LinkWidget {...p} />;
    case 'item_ref':
      return <ItemRef {...p} />;
    case 'term_ref':
      return <TermRef {...p} />;
    case 'file': case 'image':
      return <FileWidget {...p} />;
    default:
      if (def.allowed_values && def.allowed_values.length) {
        return (
          <select {...common} {...aria} value={value ?? ''} onChange={(e) => onChange((e.target as HTMLSelectElement).value)}>
            <option value="">(none)</option>
            {def.allowed_values.map((v) => <option value={String(v)}>{String(v)}</option>)}
          </select>
        );
      }
      return <input {...common} {...aria} type="text" value={value ?? ''} maxLength={def.max_length || 255}
        onInput={(e) => onChange((e.target as HTMLInputElement).value)} />;
  }
}

/** LongText: Markdown source and the server's rendering side by side. */
function LongText({ def, id, value, onChange, describedBy, invalid, labelId }: WidgetProps) {
  const [html, setHtml] = useState<string | null>(null);
  const [showPreview, setShowPreview] = useState(true);
  const [previewError, setPreviewError] = useState('');
  const previewRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!showPreview) return;
    const t = setTimeout(async () => {
      try {
        const h = await api.renderText(def.format || 'markdown', value ?? '');
        if (h === null) setPreviewError('Live preview of unsaved text needs the API\'s render route. Save, then use “Preview page” to see the page as the site renders it.');
        else { setHtml(h); setPreviewError(''); }
      } catch (e) {
        setPreviewError((e as api.ApiError).message);
      }
    }, 300);
    return () => clearTimeout(t);
  }, [value, showPreview]);
  useEffect(() => {
    // The server sanitised this HTML with the site's text format.
    if (previewRef.current) previewRef.current.innerHTML = html ?? '';
  }, [html]);
  return (
    <div class={'long-text' + (showPreview ? ' with-preview' : '')}>
      <MarkdownEditor id={id} labelId={labelId} value={value ?? ''} onChange={onChange} describedBy={describedBy} invalid={invalid} />
      <div class="preview-pane">
        <button type="button" class="small link" aria-expanded={showPreview} aria-controls={id + '-preview'} onClick={() => setShowPreview(!showPreview)}>
          {showPreview ? 'Hide preview' : 'Show preview'}
        </button>
        {showPreview && (
          <section id={id + '-preview'} aria-label="Preview" class="rendered">
            {previewError ? <p class="muted">{previewError}</p> : <div ref={previewRef} class="prose" />}
          </section>
        )}
      </div>
    </div>
  );
}

function DateTime({ def, id, value, onChange, describedBy, invalid, label }: WidgetProps) {
  // <input type=datetime-local> edits local time; the API stores RFC 3339.
  const local = value ? toLocalInput(value) : '';
  return <input id={id} type="datetime-local" aria-label={isMultiple(def) ? label : undefined} aria-describedby={describedBy} aria-invalid={invalid ? 'true' : undefined}
    value={local} required={def.required} onInput={(e) => {
      const s = (e.target as HTMLInputElement).value;
      onChange(s ? new Date(s).toISOString().replace(/\.\d{3}Z$/, 'Z') : null);
    }} />;
}

function toLocalInput(v: string): string {
  const d = new Date(v);
  if (isNaN(d.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function LinkWidget({ id, value, onChange, describedBy, invalid, label }: WidgetProps) {
  const v = value && typeof value === 'object' ? value : { url: '', title: '' };
  return (
    <div class="pair">
      <div class="field">
        <label for={id}>URL<span class="visually-hidden"> of {label}</span></label>
        <input id={id} type="url" value={v.url ?? ''} aria-describedby={describedBy} aria-invalid={invalid ? 'true' : undefined}
          onInput={(e) => onChange({ ...v, url: (e.target as HTMLInputElement).value })} />
      </div>
      <div class="field">
        <label for={id + '-title'}>Link text<span class="visually-hidden"> of {label}</span></label>
        <input id={id + '-title'} type="text" value={v.title ?? ''} onInput={(e) => onChange({ ...v, title: (e.target as HTMLInputElement).value })} />
      </div>
    </div>
  );
}

/** ItemRef: a combobox that searches items (of the allowed types). */
function ItemRef({ def, id, value, onChange, describedBy, invalid, label }: WidgetProps) {
  const app = useApp();
  const refId: string = value && typeof value === 'object' ? value.id : '';
  const [text, setText] = useState('');
  const [options, setOptions] = useState<api.Item[]>([]);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  useEffect(() => {
    if (!refId) { setText(''); return; }
    api.get<api.Item>('/items/' + refId, { stage: stageParam(app.stage) }).then((it) => setText(it.title), () => setText(refId));
  }, [refId]);
  const timer = useRef<number | undefined>(undefined);
  const search = (q: string) => {
    setText(q);
    clearTimeout(timer.current);
    if (!q.trim()) { setOptions([]); setOpen(false); return; }
    timer.current = window.setTimeout(() => find(q), 250);
  };
  const find = async (q: string) => {
    try {
      const types = def.target_types && def.target_types.length === 1 ? def.target_types[0] : undefined;
      // The API lists without text search: match titles among the newest.
      const words = q.toLowerCase().split(/\s+/).filter(Boolean);
      let list = (await api.all<api.Item>('/items', { type: types, stage: stageParam(app.stage) }, 1000))
        .filter((i) => words.every((w) => (i.title || '').toLowerCase().includes(w)));
      if (def.target_types?.length) list = list.filter((i) => def.target_types!.includes(i.type));
      list = list.slice(0, 10);
      setOptions(list);
      setOpen(true);
      setActive(-1);
    } catch { setOptions([]); }
  };
  const choose = (it: api.Item) => { onChange({ id: it.id }); setText(it.title); setOpen(false); };
  const listId = id + '-options';
  return (
    <div class="combo">
      <input id={id} type="text" role="combobox" aria-autocomplete="list" aria-expanded={open} aria-controls={open ? listId : undefined}
        aria-label={isMultiple(def) ? label : undefined}
        aria-activedescendant={open && active >= 0 ? `${listId}-${active}` : undefined} aria-describedby={describedBy} aria-invalid={invalid ? 'true' : undefined}
        value={text} placeholder="Type to search content" autoComplete="off"
        onInput={(e) => search((e.target as HTMLInputElement).value)}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown') { e.preventDefault(); setOpen(true); setActive(Math.min(options.length - 1, active + 1)); }
          else if (e.key === 'ArrowUp') { e.preventDefault(); setActive(Math.max(0, active - 1)); }
          else if (e.key === 'Enter' && open && active >= 0) { e.preventDefault(); choose(options[active]); }
          else if (e.key === 'Escape') setOpen(false);
        }} />
      {refId && <button type="button" class="small" onClick={() => { onChange(null); setText(''); }}>Clear<span class="visually-hidden"> {label}</span></button>}
      {open && (
        <ul id={listId} role="listbox" class="options" aria-label={`Matches for ${label}`}>
          {options.length === 0 && <li class="muted" role="option" aria-disabled="true">No matches</li>}
          {options.map((o, i) => (
            <li id={`${listId}-${i}`} role="option" aria-selected={i === active} class={i === active ? 'active' : ''}
              onMouseDown={(e) => { e.preventDefault(); choose(o); }}>{o.title} <span class="muted">({o.type})</span></li>
          ))}
        </ul>
      )}
    </div>
  );
}

const termCache = new Map<string, Promise<api.Term[]>>();
function loadTerms(vocab: string, stage: string): Promise<api.Term[]> {
  const key = vocab + '@' + stage;
  if (!termCache.has(key)) {
    termCache.set(key, api.all('/terms', { vocabulary: vocab, stage: stageParam(stage) })
      .then((d) => d.map((x) => api.staged<api.Term>(x)), () => { termCache.delete(key); return []; }));
  }
  return termCache.get(key)!;
}
export function forgetTerms() { termCache.clear(); }

/** TermRef: a category picker over the field's vocabulary, as a tree. */
function TermRef({ def, id, value, onChange, describedBy, invalid, label }: WidgetProps) {
  const app = useApp();
  const [terms, setTerms] = useState<api.Term[]>([]);
  useEffect(() => { if (def.vocabulary) loadTerms(def.vocabulary, app.stage).then(setTerms); }, [def.vocabulary, app.stage]);
  const cur = value && typeof value === 'object' ? value.id : '';
  return (
    <select id={id} aria-label={isMultiple(def) ? label : undefined} aria-describedby={describedBy} aria-invalid={invalid ? 'true' : undefined}
      value={cur} onChange={(e) => { const v = (e.target as HTMLSelectElement).value; onChange(v ? { id: v } : null); }}>
      <option value="">(none)</option>
      {treeOrder(terms).map(([t, depth]) => <option value={t.id}>{'\u2003'.repeat(depth)}{t.name}</option>)}
      {cur && !terms.some((t) => t.id === cur) && <option value={cur}>{cur}</option>}
    </select>
  );
}

/** treeOrder lists terms depth-first under their first parent, by weight then name. */
export function treeOrder(terms: api.Term[]): [api.Term, number][] {
  const ids = new Set(terms.map((t) => t.id));
  const kids = new Map<string, api.Term[]>();
  for (const t of terms) {
    const p = (t.parents || []).find((x) => ids.has(x)) || '';
    if (!kids.has(p)) kids.set(p, []);
    kids.get(p)!.push(t);
  }
  for (const l of kids.values()) l.sort((a, b) => (a.weight || 0) - (b.weight || 0) || a.name.localeCompare(b.name));
  const out: [api.Term, number][] = [];
  const seen = new Set<string>();
  const walk = (p: string, d: number) => {
    for (const t of kids.get(p) || []) {
      if (seen.has(t.id)) continue;
      seen.add(t.id);
      out.push([t, d]);
      walk(t.id, d + 1);
    }
  };
  walk('', 0);
  return out;
}

/** FileWidget uploads a file (or image, with alt text) and references it. */
function FileWidget({ def, id, value, onChange, describedBy, invalid, label }: WidgetProps) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [info, setInfo] = useState<api.FileInfo | null>(null);
  const v = value && typeof value === 'object' ? value : null;
  const image = def.type === 'image';
  useEffect(() => {
    if (!v?.id) { setInfo(null); return; }
    if (info?.id === v.id) return;
    api.get<api.FileInfo>('/files/' + v.id).then(setInfo, () => setInfo({ id: v.id }));
  }, [v?.id]);
  const [picking, setPicking] = useState(false);
  const chooseRef = useRef<HTMLButtonElement>(null);
  const use = (fileObj: api.FileInfo) => {
    setInfo(fileObj);
    onChange(image ? { id: fileObj.id, alt: v?.alt ?? '', ...(v?.title ? { title: v.title } : {}) } : { id: fileObj.id });
  };
  const upload = async (file: File) => {
    setError('');
    setBusy(true);
    try {
      use(await uploadFile(file, def.max_size, label));
      announce(`${file.name} uploaded.`);
    } catch (e) {
      const m = (e as api.ApiError).message;
      setError(m); announce(`Upload failed: ${m}`, 'error');
    } finally { setBusy(false); }
  };
  const src = info?.url || (info?.hash && (info.name || info.filename) ? `/files/${info.hash}/${encodeURIComponent(info.name || info.filename || '')}` : '');
  return (
    <div class="file-widget">
      {v?.id && (
        <div class="file-current">
          {image && src && <img src={src} alt="" class="thumb" />}
          <span>{info?.name || info?.filename || v.id}{info?.size ? ` (${fmtBytes(info.size)})` : ''}</span>
          <button type="button" class="small danger" onClick={() => onChange(null)}>Remove<span class="visually-hidden"> {label}</span></button>
        </div>
      )}
      <label for={id} class="upload">{v?.id ? 'Replace' : 'Upload'} {image ? 'image' : 'file'}<span class="visually-hidden"> for {label}</span></label>
      <input id={id} type="file" accept={def.allowed_mime?.join(',') || (image ? 'image/*' : undefined)} disabled={busy}
        aria-describedby={[describedBy, error ? id + '-uperr' : ''].filter(Boolean).join(' ') || undefined} aria-invalid={invalid || !!error ? 'true' : undefined}
        onChange={(e) => { const f = (e.target as HTMLInputElement).files?.[0]; if (f) upload(f); (e.target as HTMLInputElement).value = ''; }} />
      {' '}<button type="button" class="small choose" ref={chooseRef} onClick={() => setPicking(true)}>Choose from the library<span class="visually-hidden"> for {label}</span></button>
      {picking && (
        <MediaPicker title={`Choose ${image ? 'an image' : 'a file'} for ${label}`} imagesOnly={image}
          onClose={() => { setPicking(false); setTimeout(() => chooseRef.current?.focus()); }}
          onPick={(f) => {
            setPicking(false);
            setError('');
            use(f);
            announce(`${f.name} chosen for ${label}.`);
            setTimeout(() => document.getElementById(image ? id + '-alt' : id)?.focus());
          }} />
      )}
      {busy && <span role="status">Uploading…</span>}
      {error && <p class="error" id={id + '-uperr'}>{error}</p>}
      {image && v?.id && (
        <div class="pair">
          <div class="field">
            <label for={id + '-alt'}>Alternative text</label>
            <input id={id + '-alt'} type="text" value={v.alt ?? ''} disabled={!!v.decorative} maxLength={512}
              onInput={(e) => onChange({ ...v, alt: (e.target as HTMLInputElement).value })} />
          </div>
          <label class="check">
            <input type="checkbox" checked={!!v.decorative} onChange={(e) => onChange({ ...v, decorative: (e.target as HTMLInputElement).checked })} />
            {' '}Decorative (no alternative text)
          </label>
        </div>
      )}
    </div>
  );
}
