import { show } from '../util';
import type { FieldChange } from '../api';

/** Diff shows field changes side by side: before (live or older) and after. */
export function Diff({ changes, before = 'Before', after = 'After' }: { changes: FieldChange[]; before?: string; after?: string }) {
  if (!changes.length) return <p class="muted">No field changes.</p>;
  return (
    <table class="diff">
      <thead><tr><th scope="col">Field</th><th scope="col">{before}</th><th scope="col">{after}</th></tr></thead>
      <tbody>
        {changes.map((c) => (
          <tr>
            <th scope="row">{c.path}</th>
            <td class="old"><pre>{show(c.old ?? c.before ?? c.from)}</pre></td>
            <td class="new"><pre>{show(c.new ?? c.after ?? c.to)}</pre></td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** diffDocs compares two documents key by key (one level into "fields"). */
export function diffDocs(a: any, b: any): FieldChange[] {
  const out: FieldChange[] = [];
  const flat = (d: any) => {
    const m: Record<string, any> = {};
    if (!d || typeof d !== 'object') return m;
    for (const [k, v] of Object.entries(d)) {
      if (k === 'fields' && v && typeof v === 'object') for (const [fk, fv] of Object.entries(v)) m['fields.' + fk] = fv;
      else if (!['id', 'revision_id', 'changed_at', 'created_at', 'type_version'].includes(k)) m[k] = v;
    }
    return m;
  };
  const fa = flat(a), fb = flat(b);
  for (const k of [...new Set([...Object.keys(fa), ...Object.keys(fb)])].sort()) {
    if (JSON.stringify(fa[k]) !== JSON.stringify(fb[k])) out.push({ path: k, old: fa[k], new: fb[k] });
  }
  return out;
}
