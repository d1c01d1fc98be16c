import { useEffect, useRef, useState } from 'preact/hooks';
import * as api from '../api';
import { announce } from '../announce';
import { linkProps } from '../router';
import { stageLabel, stageParam, useApp } from '../state';
import { Widget } from '../widgets/fields';
import { StructureNav } from './types';

// The menu screen: the tree of a menu's links in the current stage,
// reordered by drag or keyboard and saved in one request, and a form to
// add, edit and delete links (title, an item or a path, parent, weight).

interface Row { link: api.MenuLink; depth: number }

/** flatten orders links depth-first by weight then title. */
function flatten(links: api.MenuLink[]): Row[] {
  const ids = new Set(links.map((l) => l.id));
  const kids = new Map<string, api.MenuLink[]>();
  for (const l of links) {
    const p = l.parent_id && ids.has(l.parent_id) ? l.parent_id : '';
    if (!kids.has(p)) kids.set(p, []);
    kids.get(p)!.push(l);
  }
  for (const k of kids.values()) k.sort((a, b) => a.weight - b.weight || a.title.localeCompare(b.title));
  const out: Row[] = [];
  const walk = (p: string, d: number) => { for (const l of kids.get(p) || []) { out.push({ link: l, depth: d }); walk(l.id, d + 1); } };
  walk('', 0);
  return out;
}

/** rebuild turns an ordered list of rows with depths back into parents and weights. */
function rebuild(rows: Row[]): api.MenuLink[] {
  const stack: string[] = [];
  const weights = new Map<string, number>();
  return rows.map((r) => {
    stack.length = r.depth;
    const parent = r.depth > 0 ? stack[r.depth - 1] : '';
    const w = weights.get(parent) || 0;
    weights.set(parent, w + 1);
    stack[r.depth] = r.link.id;
    return { ...r.link, parent_id: parent || null, weight: w };
  });
}

/** subtreeEnd is the index after row i's descendants. */
function subtreeEnd(rows: Row[], i: number): number {
  let j = i + 1;
  while (j < rows.length && rows[j].depth > rows[i].depth) j++;
  return j;
}

const ITEM_PATH = /^\/item\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

interface LinkForm { id?: string; revision_id?: string; title: string; to: 'item' | 'path'; item: { id: string } | null; path: string; parent_id: string; weight: string }

function formOf(l?: api.MenuLink): LinkForm {
  if (!l) return { title: '', to: 'item', item: null, path: '', parent_id: '', weight: '0' };
  const m = ITEM_PATH.exec(l.path);
  return { id: l.id, revision_id: l.revision_id, title: l.title, to: m ? 'item' : 'path', item: m ? { id: m[1] } : null, path: m ? '' : l.path, parent_id: l.parent_id || '', weight: String(l.weight ?? 0) };
}

/** errorsOf groups a refused save's field errors by the form's keys (doc.title → title). */
function errorsOf(e: api.ApiError): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of e.fields) {
    const k = f.path.replace(/^doc\./, '');
    const key = k === 'path' ? 'path' : k === 'parent_id' ? 'parent_id' : k === 'title' ? 'title' : k === 'weight' ? 'weight' : '';
    if (key) out[key] = out[key] ? out[key] + '; ' + f.message : f.message;
  }
  if (!Object.keys(out).length) out[''] = e.message;
  return out;
}

export function Menus({ menu }: { menu?: string }) {
  const app = useApp();
  const [menus, setMenus] = useState<{ name: string; label?: string }[]>([]);
  const [rows, setRows] = useState<Row[] | null>(null);
  const [saved, setSaved] = useState('');
  const [error, setError] = useState('');
  const [dragging, setDragging] = useState<number | null>(null);
  const listRef = useRef<HTMLOListElement>(null);
  const current = menu || menus[0]?.name;
  const [form, setForm] = useState<LinkForm | null>(null);
  const [formErrors, setFormErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api.all('/menus').then((d) => setMenus(d.map((x) => api.configBody(x))), () => setMenus([]));
  }, []);
  const load = async () => {
    if (!current) return;
    await api.all('/menu-links', { menu: current, stage: stageParam(app.stage) }).then((d) => {
      const r = flatten(d.map((x) => api.staged<api.MenuLink>(x)));
      setRows(r);
      setSaved(JSON.stringify(rebuild(r)));
    }, (e: api.ApiError) => { setRows([]); setError(e.message); });
  };
  useEffect(() => { setForm(null); void load(); }, [current, app.stage]);

  const focusRow = (id: string, cls: string) => setTimeout(() => {
    listRef.current?.querySelector<HTMLElement>(`[data-id="${id}"] .${cls}`)?.focus();
  });

  const moveBlock = (i: number, to: number, depthDelta = 0) => {
    if (!rows) return;
    const end = subtreeEnd(rows, i);
    const block = rows.slice(i, end).map((r) => ({ ...r, depth: r.depth + depthDelta }));
    const rest = rows.slice(0, i).concat(rows.slice(end));
    const at = Math.max(0, Math.min(rest.length, to));
    const next = rest.slice(0, at).concat(block, rest.slice(at));
    // Keep depths valid: no deeper than one below the row before.
    for (let k = 0; k < next.length; k++) {
      const max = k === 0 ? 0 : next[k - 1].depth + 1;
      if (next[k].depth > max) next[k] = { ...next[k], depth: max };
    }
    setRows(next);
  };

  const up = (i: number) => {
    if (!rows) return;
    const d = rows[i].depth;
    let j = i - 1;
    while (j >= 0 && rows[j].depth > d) j--;
    if (j < 0 || rows[j].depth < d) return;
    moveBlock(i, j);
    announce(`${rows[i].link.title} moved up.`, 'info');
    focusRow(rows[i].link.id, 'move-up');
  };
  const down = (i: number) => {
    if (!rows) return;
    const d = rows[i].depth;
    const end = subtreeEnd(rows, i);
    if (end >= rows.length || rows[end].depth !== d) return;
    const nextEnd = subtreeEnd(rows, end);
    moveBlock(i, nextEnd - (end - i));
    announce(`${rows[i].link.title} moved down.`, 'info');
    focusRow(rows[i].link.id, 'move-down');
  };
  const indent = (i: number) => {
    if (!rows || i === 0 || rows[i - 1].depth < rows[i].depth) return;
    moveBlock(i, i, 1);
    announce(`${rows[i].link.title} is now nested one level deeper.`, 'info');
    focusRow(rows[i].link.id, 'indent');
  };
  const outdent = (i: number) => {
    if (!rows || rows[i].depth === 0) return;
    const end = subtreeEnd(rows, i);
    // Move after its parent's remaining children so order is kept.
    let j = end;
    while (j < rows.length && rows[j].depth >= rows[i].depth) j = subtreeEnd(rows, j);
    moveBlock(i, j - (end - i), -1);
    announce(`${rows[i].link.title} moved out one level.`, 'info');
    focusRow(rows[i].link.id, 'outdent');
  };

  const drop = (target: number) => {
    if (dragging === null || !rows || dragging === target) { setDragging(null); return; }
    const end = subtreeEnd(rows, dragging);
    if (target > dragging && target < end) { setDragging(null); return; } // into itself
    const depth = rows[target]?.depth ?? 0;
    const delta = depth - rows[dragging].depth;
    const to = target > dragging ? target - (end - dragging) : target;
    moveBlock(dragging, to, delta);
    announce(`${rows[dragging].link.title} moved.`, 'info');
    setDragging(null);
  };

  const save = async () => {
    if (!rows || !current) return;
    const before = new Map((JSON.parse(saved) as api.MenuLink[]).map((l) => [l.id, l]));
    // Only the links whose place changed, in one request.
    const moves = rebuild(rows).filter((l) => {
      const b = before.get(l.id);
      return !b || (b.parent_id || null) !== (l.parent_id || null) || b.weight !== l.weight;
    }).map((l) => ({ id: l.id, parent_id: l.parent_id || null, weight: l.weight }));
    if (!moves.length) return;
    try {
      await api.post('/menus/' + encodeURIComponent(current) + '/arrange', { moves, log: 'Reordered in the editor' }, { stage: stageParam(app.stage) });
      setSaved(JSON.stringify(rebuild(rows)));
      announce(`Menu order saved in ${stageLabel(app.stages, app.stage)}.`);
    } catch (e) { announce(`Menu not saved: ${(e as api.ApiError).message}`, 'error'); }
  };

  const dirty = rows !== null && JSON.stringify(rebuild(rows)) !== saved;
  const keepOrder = () => !dirty || confirm('The new order is not saved. Discard it?');

  const openForm = (l?: api.MenuLink) => {
    if (!keepOrder()) return;
    if (dirty) load();
    setForm(formOf(l));
    setFormErrors({});
    setTimeout(() => document.getElementById('ml-title')?.focus());
  };
  const closeForm = (focusId?: string) => {
    setForm(null);
    setFormErrors({});
    setTimeout(() => (focusId ? listRef.current?.querySelector<HTMLElement>(`[data-id="${focusId}"] .edit`) : document.getElementById('ml-add'))?.focus());
  };

  const saveLink = async (e: Event) => {
    e.preventDefault();
    if (!form || !current) return;
    const errs: Record<string, string> = {};
    if (!form.title.trim()) errs.title = 'Give the link a title.';
    if (form.to === 'item' && !form.item) errs.item = 'Choose the item the link opens.';
    if (form.to === 'path' && !form.path.trim()) errs.path = 'Give a path on this site (/about) or a URL (https://…).';
    if (!/^-?\d+$/.test(form.weight.trim())) errs.weight = 'A whole number: lighter links come first.';
    if (Object.keys(errs).length) {
      setFormErrors(errs);
      announce(`Link not saved: ${Object.values(errs).join(' ')}`, 'error');
      setTimeout(() => document.getElementById(errs.title ? 'ml-title' : errs.item ? 'ml-item' : errs.path ? 'ml-path' : 'ml-weight')?.focus());
      return;
    }
    const doc = {
      menu: current, title: form.title.trim(), path: form.to === 'item' ? '/item/' + form.item!.id : form.path.trim(),
      parent_id: form.parent_id || null, weight: Number(form.weight),
    };
    setBusy(true);
    try {
      const q = { stage: stageParam(app.stage) };
      const r = form.id
        ? await api.put('/menu-links/' + form.id, { base_revision_id: form.revision_id, doc, log: 'Edited in the editor' }, q)
        : await api.post('/menu-links', { doc, log: 'Added in the editor' }, q);
      announce(`Link ${doc.title} ${form.id ? 'saved' : 'added'} in ${stageLabel(app.stages, app.stage)}.`);
      await load();
      closeForm(r.id);
    } catch (x) {
      const err = x as api.ApiError;
      const fe = err.status === 409 ? { '': 'Someone changed this link meanwhile: it was reloaded; make your change again.' } : errorsOf(err);
      if (err.status === 409) { load(); const cur = api.staged<api.MenuLink>(err.body?.current || {}); if (cur.id) setForm({ ...formOf(cur) }); }
      setFormErrors(fe);
      announce(`Link not saved: ${Object.values(fe).join(' ')}`, 'error');
    } finally { setBusy(false); }
  };

  const removeLink = async (l: api.MenuLink, i: number) => {
    if (!keepOrder()) return;
    if (!confirm(`Delete the link ${l.title}?`)) return;
    try {
      await api.del('/menu-links/' + l.id, { stage: stageParam(app.stage) });
      announce(`Link ${l.title} deleted in ${stageLabel(app.stages, app.stage)}.`);
      if (form?.id === l.id) setForm(null);
      await load();
      setTimeout(() => {
        const rs = listRef.current?.querySelectorAll<HTMLElement>('.menu-row .edit');
        (rs && rs.length ? rs[Math.min(i, rs.length - 1)] : document.getElementById('ml-add'))?.focus();
      });
    } catch (x) { announce(`Link not deleted: ${(x as api.ApiError).message}`, 'error'); }
  };

  // A link cannot go under itself or its own descendants.
  const parentChoices = (rows || []).filter((_, i) => {
    if (!form?.id) return true;
    const at = rows!.findIndex((x) => x.link.id === form.id);
    return at < 0 || i < at || i >= subtreeEnd(rows!, at);
  });

  return (
    <section class="menus">
      <h1>Menus{current ? `: ${menus.find((m) => m.name === current)?.label || current}` : ''}</h1>
      <StructureNav current="/menus" />
      <nav aria-label="Menus"><ul class="tabs">
        {menus.map((m) => <li><a {...linkProps('/menus/' + m.name)} aria-current={m.name === current ? 'page' : undefined}>{m.label || m.name}</a></li>)}
      </ul></nav>
      {error && <p class="error" role="alert">{error}</p>}
      <p class="help" id="menu-help">Drag a link to reorder it, or use its buttons: up and down move it among its siblings, right nests it under the link above, left moves it out a level.</p>
      {rows && rows.length === 0 && !error && <p>This menu has no links.</p>}
      {rows && rows.length > 0 && (
        <ol class="menu-tree" ref={listRef} aria-describedby="menu-help">
          {rows.map((r, i) => (
            <li data-id={r.link.id} class={'menu-row depth-' + Math.min(r.depth, 6) + (dragging === i ? ' dragging' : '')} draggable
              style={{ paddingInlineStart: `${r.depth * 1.75 + 0.5}rem` }}
              onDragStart={(e) => { setDragging(i); e.dataTransfer?.setData('text/plain', r.link.id); }}
              onDragOver={(e) => e.preventDefault()} onDrop={(e) => { e.preventDefault(); drop(i); }} onDragEnd={() => setDragging(null)}>
              <span class="grip" aria-hidden="true">⋮⋮</span>
              <span class="menu-title">{r.link.title}</span> <span class="muted">{r.link.path}</span>
              <span class="row-actions">
                <button type="button" class="small move-up" onClick={() => up(i)} aria-label={`Move ${r.link.title} up`}>↑</button>
                <button type="button" class="small move-down" onClick={() => down(i)} aria-label={`Move ${r.link.title} down`}>↓</button>
                <button type="button" class="small outdent" onClick={() => outdent(i)} aria-label={`Move ${r.link.title} out one level`} disabled={r.depth === 0}>←</button>
                <button type="button" class="small indent" onClick={() => indent(i)} aria-label={`Nest ${r.link.title} under the link above`} disabled={i === 0 || rows[i - 1].depth < r.depth}>→</button>
                <button type="button" class="small edit" onClick={() => openForm(r.link)}>Edit<span class="visually-hidden"> {r.link.title}</span></button>
                <button type="button" class="small danger" onClick={() => removeLink(r.link, i)}>Delete<span class="visually-hidden"> {r.link.title}</span></button>
              </span>
            </li>
          ))}
        </ol>
      )}
      {rows && rows.length > 0 && (
        <div class="actions">
          <button type="button" class="primary" disabled={!dirty} onClick={save}>Save order</button>
          <button type="button" disabled={!dirty} onClick={load}>Undo changes</button>
        </div>
      )}
      {current && !form && <p><button type="button" id="ml-add" onClick={() => openForm()}>Add a link</button></p>}
      {current && form && (
        <form class="inline-form link-form" onSubmit={saveLink} noValidate aria-labelledby="ml-h">
          <h2 id="ml-h">{form.id ? `Edit the link ${rows?.find((r) => r.link.id === form.id)?.link.title || ''}` : 'Add a link'}</h2>
          {formErrors[''] && <p class="error" role="alert">{formErrors['']}</p>}
          <div class={'field' + (formErrors.title ? ' has-error' : '')}><label for="ml-title">Title</label>
            <input id="ml-title" type="text" value={form.title} maxLength={255} aria-invalid={formErrors.title ? 'true' : undefined}
              aria-describedby={formErrors.title ? 'ml-title-err' : undefined} onInput={(e) => setForm({ ...form, title: (e.target as HTMLInputElement).value })} />
            {formErrors.title && <p class="field-errors" id="ml-title-err">{formErrors.title}</p>}</div>
          <fieldset class="field"><legend>Opens</legend>
            <label class="check"><input type="radio" name="ml-to" checked={form.to === 'item'} onChange={() => setForm({ ...form, to: 'item' })} /> An item</label>
            <label class="check"><input type="radio" name="ml-to" checked={form.to === 'path'} onChange={() => setForm({ ...form, to: 'path' })} /> A path or URL</label>
          </fieldset>
          {form.to === 'item' ? (
            <div class={'field' + (formErrors.item || formErrors.path ? ' has-error' : '')}><label id="ml-item-label" for="ml-item">Item</label>
              <Widget def={{ name: 'item', type: 'item_ref' }} id="ml-item" value={form.item} onChange={(v) => setForm({ ...form, item: v })}
                labelId="ml-item-label" label="Item" invalid={!!(formErrors.item || formErrors.path)} describedBy={formErrors.item || formErrors.path ? 'ml-item-err' : undefined} />
              {(formErrors.item || formErrors.path) && <p class="field-errors" id="ml-item-err">{formErrors.item || formErrors.path}</p>}</div>
          ) : (
            <div class={'field' + (formErrors.path ? ' has-error' : '')}><label for="ml-path">Path or URL</label>
              <p class="help" id="ml-path-help">A path on this site (/about, an alias) or a full URL (https://…).</p>
              <input id="ml-path" type="text" value={form.path} aria-invalid={formErrors.path ? 'true' : undefined}
                aria-describedby={'ml-path-help' + (formErrors.path ? ' ml-path-err' : '')} onInput={(e) => setForm({ ...form, path: (e.target as HTMLInputElement).value })} />
              {formErrors.path && <p class="field-errors" id="ml-path-err">{formErrors.path}</p>}</div>
          )}
          <div class="pair">
            <div class={'field' + (formErrors.parent_id ? ' has-error' : '')}><label for="ml-parent">Parent</label>
              <select id="ml-parent" value={form.parent_id} aria-invalid={formErrors.parent_id ? 'true' : undefined}
                aria-describedby={formErrors.parent_id ? 'ml-parent-err' : undefined} onChange={(e) => setForm({ ...form, parent_id: (e.target as HTMLSelectElement).value })}>
                <option value="">(top level)</option>
                {parentChoices.map((r) => <option value={r.link.id}>{'— '.repeat(r.depth) + r.link.title}</option>)}
              </select>
              {formErrors.parent_id && <p class="field-errors" id="ml-parent-err">{formErrors.parent_id}</p>}</div>
            <div class={'field' + (formErrors.weight ? ' has-error' : '')}><label for="ml-weight">Weight</label>
              <input id="ml-weight" type="number" step={1} value={form.weight} aria-invalid={formErrors.weight ? 'true' : undefined}
                aria-describedby={formErrors.weight ? 'ml-weight-err' : undefined} onInput={(e) => setForm({ ...form, weight: (e.target as HTMLInputElement).value })} />
              {formErrors.weight && <p class="field-errors" id="ml-weight-err">{formErrors.weight}</p>}</div>
          </div>
          <div class="actions">
            <button type="submit" class="primary" disabled={busy}>{form.id ? 'Save link' : 'Add link'}</button>
            <button type="button" onClick={() => closeForm(form.id)}>Cancel</button>
          </div>
        </form>
      )}
    </section>
  );
}
