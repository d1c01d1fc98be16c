import { useEffect, useRef, useState } from 'preact/hooks';
import * as api from '../api';
import { announce } from '../announce';
import { linkProps } from '../router';
import { stageLabel, stageParam, useApp } from '../state';

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

export function Menus({ menu }: { menu?: string }) {
  const app = useApp();
  const [menus, setMenus] = useState<{ name: string; label?: string }[]>([]);
  const [rows, setRows] = useState<Row[] | null>(null);
  const [saved, setSaved] = useState('');
  const [error, setError] = useState('');
  const [dragging, setDragging] = useState<number | null>(null);
  const listRef = useRef<HTMLOListElement>(null);
  const current = menu || menus[0]?.name;

  useEffect(() => {
    api.all('/menus').then((d) => setMenus(d.map((x) => api.configBody(x))), () => setMenus([]));
  }, []);
  const load = () => {
    if (!current) return;
    api.all('/menu-links', { menu: current, stage: stageParam(app.stage) }).then((d) => {
      const r = flatten(d.map((x) => api.staged<api.MenuLink>(x)));
      setRows(r);
      setSaved(JSON.stringify(rebuild(r)));
    }, (e: api.ApiError) => { setRows([]); setError(e.message); });
  };
  useEffect(load, [current, app.stage]);

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

  return (
    <section class="menus">
      <h1>Menus{current ? `: ${menus.find((m) => m.name === current)?.label || current}` : ''}</h1>
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
    </section>
  );
}
