// Categories: a vocabulary's term tree, edited in the current stage. Terms
// are reordered and nested with buttons (keyboard) or by dragging; the
// order is saved as weights and parents, one PUT per term that moved, each
// with the revision it was read at. A term can be renamed, described,
// given another parent, or deleted.
import { useEffect, useRef, useState } from 'preact/hooks';
import * as api from '../api';
import { announce } from '../announce';
import { linkProps } from '../router';
import { stageLabel, stageParam, useApp } from '../state';
import { forgetTerms, treeOrder } from '../widgets/fields';
import { fieldErrors } from './aliases';
import { StructureNav } from './types';

interface Row { term: api.Term; depth: number }

/** placed gives each row its parent (the nearest shallower row above) and its weight among its siblings. */
function placed(rows: Row[]): Map<string, { parent: string; weight: number }> {
  const stack: string[] = [];
  const weights = new Map<string, number>();
  const out = new Map<string, { parent: string; weight: number }>();
  for (const r of rows) {
    stack.length = r.depth;
    const parent = r.depth > 0 ? stack[r.depth - 1] : '';
    const w = weights.get(parent) || 0;
    weights.set(parent, w + 1);
    stack[r.depth] = r.term.id;
    out.set(r.term.id, { parent, weight: w });
  }
  return out;
}

function subtreeEnd(rows: Row[], i: number): number {
  let j = i + 1;
  while (j < rows.length && rows[j].depth > rows[i].depth) j++;
  return j;
}

/** firstParent is the parent the tree shows a term under. */
function firstParent(t: api.Term, ids: Set<string>): string {
  return (t.parents || []).find((p) => ids.has(p)) || '';
}

export function Categories({ vocab }: { vocab?: string }) {
  const app = useApp();
  const [vocabs, setVocabs] = useState<{ name: string; label?: string }[]>([]);
  const [terms, setTerms] = useState<api.Term[] | null>(null);
  const [rows, setRows] = useState<Row[]>([]);
  const [error, setError] = useState('');
  const [editing, setEditing] = useState<api.Term | null>(null);
  const [dragging, setDragging] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const listRef = useRef<HTMLOListElement>(null);
  const where = stageLabel(app.stages, app.stage);

  useEffect(() => {
    api.all('/vocabularies').then((d) => setVocabs(d.map((x) => api.configBody(x))), () => setVocabs([]));
  }, []);
  const load = () => {
    if (!vocab) return;
    api.all('/terms', { vocabulary: vocab, stage: stageParam(app.stage) }, 5000).then((d) => {
      const ts = d.map((x) => api.staged<api.Term>(x));
      setTerms(ts);
      setRows(treeOrder(ts).map(([term, depth]) => ({ term, depth })));
      setError('');
    }, (e: api.ApiError) => { setTerms([]); setRows([]); setError(e.message); });
  };
  useEffect(load, [vocab, app.stage]);

  const ids = new Set((terms || []).map((t) => t.id));
  const now = placed(rows);
  const moved = rows.filter((r) => {
    const p = now.get(r.term.id)!;
    return p.parent !== firstParent(r.term, ids) || p.weight !== (r.term.weight || 0);
  });

  const focusRow = (id: string, cls: string) => setTimeout(() => {
    listRef.current?.querySelector<HTMLElement>(`[data-id="${id}"] .${cls}`)?.focus();
  });
  const moveBlock = (i: number, to: number, depthDelta = 0) => {
    const end = subtreeEnd(rows, i);
    const block = rows.slice(i, end).map((r) => ({ ...r, depth: r.depth + depthDelta }));
    const rest = rows.slice(0, i).concat(rows.slice(end));
    const at = Math.max(0, Math.min(rest.length, to));
    const next = rest.slice(0, at).concat(block, rest.slice(at));
    for (let k = 0; k < next.length; k++) {
      const max = k === 0 ? 0 : next[k - 1].depth + 1;
      if (next[k].depth > max) next[k] = { ...next[k], depth: max };
    }
    setRows(next);
  };
  const up = (i: number) => {
    const d = rows[i].depth;
    let j = i - 1;
    while (j >= 0 && rows[j].depth > d) j--;
    if (j < 0 || rows[j].depth < d) { announce(`${rows[i].term.name} is already first.`, 'info'); return; }
    moveBlock(i, j);
    announce(`${rows[i].term.name} moved up.`, 'info');
    focusRow(rows[i].term.id, 'move-up');
  };
  const down = (i: number) => {
    const d = rows[i].depth;
    const end = subtreeEnd(rows, i);
    if (end >= rows.length || rows[end].depth !== d) { announce(`${rows[i].term.name} is already last.`, 'info'); return; }
    moveBlock(i, subtreeEnd(rows, end) - (end - i));
    announce(`${rows[i].term.name} moved down.`, 'info');
    focusRow(rows[i].term.id, 'move-down');
  };
  const indent = (i: number) => {
    if (i === 0 || rows[i - 1].depth < rows[i].depth) return;
    moveBlock(i, i, 1);
    announce(`${rows[i].term.name} is now under ${rows.slice(0, i).reverse().find((r) => r.depth === rows[i].depth)?.term.name}.`, 'info');
    focusRow(rows[i].term.id, 'indent');
  };
  const outdent = (i: number) => {
    if (rows[i].depth === 0) return;
    const end = subtreeEnd(rows, i);
    let j = end;
    while (j < rows.length && rows[j].depth >= rows[i].depth) j = subtreeEnd(rows, j);
    moveBlock(i, j - (end - i), -1);
    announce(`${rows[i].term.name} moved out one level.`, 'info');
    focusRow(rows[i].term.id, 'outdent');
  };
  const drop = (target: number) => {
    if (dragging === null || dragging === target) { setDragging(null); return; }
    const end = subtreeEnd(rows, dragging);
    if (target > dragging && target < end) { setDragging(null); return; }
    const delta = (rows[target]?.depth ?? 0) - rows[dragging].depth;
    moveBlock(dragging, target > dragging ? target - (end - dragging) : target, delta);
    announce(`${rows[dragging].term.name} moved.`, 'info');
    setDragging(null);
  };

  const saveOrder = async () => {
    setBusy(true);
    const failed: string[] = [];
    for (const r of moved) {
      const p = now.get(r.term.id)!;
      const old = firstParent(r.term, ids);
      const parents = [p.parent, ...(r.term.parents || []).filter((x) => x !== old && x !== p.parent)].filter(Boolean);
      const doc = { vocabulary: r.term.vocabulary || vocab, name: r.term.name, description: r.term.description || undefined, parents, weight: p.weight };
      try {
        await api.put('/terms/' + r.term.id, { base_revision_id: r.term.revision_id, doc, log: 'Reordered in the editor' }, { stage: stageParam(app.stage) });
      } catch (e) { failed.push(`${r.term.name}: ${(e as api.ApiError).message}`); }
    }
    setBusy(false);
    forgetTerms();
    if (failed.length) announce(`Order partly saved; not saved: ${failed.join('; ')}`, 'error');
    else announce(`Category order saved in ${where}.`);
    load();
  };

  const remove = async (t: api.Term) => {
    if (!confirm(`Delete the category “${t.name}” in ${where}?`)) return;
    try {
      await api.del('/terms/' + t.id, { stage: stageParam(app.stage) });
      forgetTerms();
      announce(`Category “${t.name}” deleted in ${where}.`);
      load();
    } catch (e) { announce(`Not deleted: ${(e as api.ApiError).message}`, 'error'); }
  };

  return (
    <section class="categories">
      <h1>Categories{vocab ? `: ${vocabs.find((v) => v.name === vocab)?.label || vocab}` : ''}</h1>
      <StructureNav current="/categories" />
      <nav aria-label="Vocabularies"><ul class="tabs">
        {vocabs.map((v) => <li><a {...linkProps('/categories/' + v.name)} aria-current={v.name === vocab ? 'page' : undefined}>{v.label || v.name}</a></li>)}
      </ul></nav>
      {!vocab && <p>Choose a vocabulary.</p>}
      {error && <p class="error" role="alert">{error}</p>}
      {vocab && terms && (
        <>
          <p class="help" id="term-help">Drag a category, or use its buttons: up and down move it among its siblings, right nests it under the one above, left moves it out a level. Then save the order. Changes go into {where}.</p>
          {rows.length === 0 && <p>This vocabulary has no categories.</p>}
          {rows.length > 0 && (
            <ol class="menu-tree term-tree" ref={listRef} aria-describedby="term-help">
              {rows.map((r, i) => (
                <li data-id={r.term.id} class={'menu-row term-row' + (dragging === i ? ' dragging' : '')} draggable
                  style={{ paddingInlineStart: `${r.depth * 1.75 + 0.5}rem` }}
                  onDragStart={(e) => { setDragging(i); e.dataTransfer?.setData('text/plain', r.term.id); }}
                  onDragOver={(e) => e.preventDefault()} onDrop={(e) => { e.preventDefault(); drop(i); }} onDragEnd={() => setDragging(null)}>
                  <span class="grip" aria-hidden="true">⋮⋮</span>
                  <span class="menu-title term-name">{r.term.name}</span>
                  <span class="row-actions">
                    <button type="button" class="small move-up" onClick={() => up(i)} aria-label={`Move ${r.term.name} up`}>↑</button>
                    <button type="button" class="small move-down" onClick={() => down(i)} aria-label={`Move ${r.term.name} down`}>↓</button>
                    <button type="button" class="small outdent" onClick={() => outdent(i)} aria-label={`Move ${r.term.name} out one level`} disabled={r.depth === 0}>←</button>
                    <button type="button" class="small indent" onClick={() => indent(i)} aria-label={`Nest ${r.term.name} under the category above`} disabled={i === 0 || rows[i - 1].depth < r.depth}>→</button>
                    <button type="button" class="small edit" onClick={() => setEditing(r.term)}>Edit<span class="visually-hidden"> {r.term.name}</span></button>
                    <button type="button" class="small danger" onClick={() => remove(r.term)}>Delete<span class="visually-hidden"> {r.term.name}</span></button>
                  </span>
                </li>
              ))}
            </ol>
          )}
          {rows.length > 0 && (
            <div class="actions">
              <button type="button" class="primary" disabled={busy || moved.length === 0} onClick={saveOrder}>Save order</button>
              <button type="button" disabled={busy || moved.length === 0} onClick={load}>Undo changes</button>
              {moved.length > 0 && <span class="muted">{moved.length} categor{moved.length === 1 ? 'y' : 'ies'} moved</span>}
            </div>
          )}
          <TermForm key={editing?.id || 'new'} vocab={vocab} term={editing} terms={terms} done={() => { setEditing(null); forgetTerms(); load(); }} />
        </>
      )}
    </section>
  );
}

/** TermForm adds a term, or edits one: name, description, parent, weight. */
function TermForm({ vocab, term, terms, done }: { vocab: string; term: api.Term | null; terms: api.Term[]; done: () => void }) {
  const app = useApp();
  const ids = new Set(terms.map((t) => t.id));
  const [name, setName] = useState(term?.name || '');
  const [description, setDescription] = useState(term?.description || '');
  const [parent, setParent] = useState(term ? firstParent(term, ids) : '');
  const [weight, setWeight] = useState(String(term?.weight ?? 0));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const where = stageLabel(app.stages, app.stage);
  useEffect(() => { if (term) document.getElementById('term-name')?.focus(); }, [term]);

  // A term cannot go under itself or its own descendants.
  const below = new Set<string>();
  if (term) {
    const order = treeOrder(terms);
    const i = order.findIndex(([t]) => t.id === term.id);
    for (let j = i; j >= 0 && j < order.length; j++) {
      if (j > i && order[j][1] <= order[i][1]) break;
      below.add(order[j][0].id);
    }
  }

  const save = async (e: Event) => {
    e.preventDefault();
    const w = Number(weight);
    if (!Number.isInteger(w)) { setErrors({ weight: 'must be a whole number' }); announce('Not saved: the weight must be a whole number.', 'error'); return; }
    const others = term ? (term.parents || []).filter((x) => x !== firstParent(term, ids) && x !== parent) : [];
    const doc = { vocabulary: vocab, name, description: description || undefined, parents: [parent, ...others].filter(Boolean), weight: w };
    const q = { stage: stageParam(app.stage) };
    try {
      if (term) await api.put('/terms/' + term.id, { base_revision_id: term.revision_id, doc, log: 'Edited in the editor' }, q);
      else await api.post('/terms', { doc, log: '' }, q);
      announce(`Category “${name}” ${term ? 'saved' : 'added'} in ${where}.`);
      setErrors({});
      if (!term) { setName(''); setDescription(''); }
      done();
    } catch (x) {
      const err = x as api.ApiError;
      setErrors(fieldErrors(err));
      announce(`Not ${term ? 'saved' : 'added'}: ${err.message}`, 'error');
    }
  };
  const err = (k: string, id: string) => errors[k] ? <p class="field-errors" id={id + '-err'}>{errors[k]}</p> : null;
  const desc = (k: string, id: string) => errors[k] ? id + '-err' : undefined;
  return (
    <form class="inline-form" onSubmit={save} noValidate aria-labelledby="term-form-h">
      <h2 id="term-form-h">{term ? `Edit “${term.name}”` : 'Add a category'}</h2>
      {errors._ && <p class="error">{errors._}</p>}
      <div class="field"><label for="term-name">Name</label>
        <input id="term-name" type="text" required value={name} aria-invalid={errors.name ? 'true' : undefined} aria-describedby={desc('name', 'term-name')}
          onInput={(e) => setName((e.target as HTMLInputElement).value)} />{err('name', 'term-name')}</div>
      <div class="field"><label for="term-desc">Description</label>
        <textarea id="term-desc" rows={2} value={description} onInput={(e) => setDescription((e.target as HTMLTextAreaElement).value)} /></div>
      <div class="field"><label for="term-parent">Parent</label>
        <select id="term-parent" value={parent} aria-invalid={errors.parents ? 'true' : undefined} aria-describedby={desc('parents', 'term-parent')}
          onChange={(e) => setParent((e.target as HTMLSelectElement).value)}>
          <option value="">(top level)</option>
          {treeOrder(terms).filter(([t]) => !below.has(t.id)).map(([t, d]) => <option value={t.id}>{'\u2003'.repeat(d)}{t.name}</option>)}
        </select>{err('parents', 'term-parent')}</div>
      <div class="field"><label for="term-weight">Weight</label>
        <p class="help" id="term-weight-help">Lighter categories come first among their siblings.</p>
        <input id="term-weight" type="number" step="1" value={weight} aria-invalid={errors.weight ? 'true' : undefined}
          aria-describedby={['term-weight-help', desc('weight', 'term-weight')].filter(Boolean).join(' ')}
          onInput={(e) => setWeight((e.target as HTMLInputElement).value)} />{err('weight', 'term-weight')}</div>
      <div class="actions">
        <button type="submit" class="primary" disabled={!name}>{term ? 'Save category' : 'Add'}</button>
        {term && <button type="button" onClick={done}>Cancel</button>}
      </div>
    </form>
  );
}
