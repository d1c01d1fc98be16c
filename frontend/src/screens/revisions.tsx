import { useEffect, useState } from 'preact/hooks';
import * as api from '../api';
import { announce } from '../announce';
import { linkProps, navigate } from '../router';
import { stageParam, useApp } from '../state';
import { Diff, diffDocs } from '../widgets/diff';
import { fmtDate } from '../util';
import { useAuthors } from '../hooks';

export function Revisions({ id }: { id: string }) {
  const app = useApp();
  const [revs, setRevs] = useState<api.Revision[] | null>(null);
  const [error, setError] = useState('');
  const [sel, setSel] = useState<string>('');
  const [diff, setDiff] = useState<api.FieldChange[] | null>(null);
  const authors = useAuthors();

  useEffect(() => {
    api.all<api.Revision>('/items/' + id + '/revisions', {}, 1000)
      .then((l) => { setRevs(l); if (l.length > 1) setSel(l[1].id); },
        (e: api.ApiError) => { setRevs([]); setError(e.message); });
  }, [id]);

  useEffect(() => {
    if (!sel || !revs) { setDiff(null); return; }
    const newest = revs[0];
    // From the selected revision to the newest one.
    api.get('/revisions/' + newest.id + '/diff', { against: sel }).then(
      (d) => setDiff(Array.isArray(d) ? d : d.changes || []),
      async () => {
        // Compute it here when the API has no diff route.
        try {
          const [a, b] = await Promise.all([api.get('/revisions/' + sel), api.get('/revisions/' + newest.id)]);
          setDiff(diffDocs(a.doc ?? a, b.doc ?? b));
        } catch (e) { setDiff([]); setError((e as api.ApiError).message); }
      });
  }, [sel, revs]);

  const restore = async (rev: api.Revision) => {
    if (!confirm(`Restore the revision of ${fmtDate(rev.created_at)}? It becomes a new revision.`)) return;
    try {
      await api.post('/revisions/' + rev.id + '/restore', { log: `Restored the revision of ${fmtDate(rev.created_at)}` }, { stage: stageParam(app.stage) });
      announce('Revision restored as a new revision.');
      navigate('/content/' + id);
    } catch (e) { announce(`Not restored: ${(e as api.ApiError).message}`, 'error'); }
  };

  return (
    <section>
      <div class="screen-head">
        <h1>Revisions</h1>
        <a {...linkProps('/content/' + id)}>Back to the editor</a>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      {revs === null && <p role="status">Loading…</p>}
      {revs && revs.length > 0 && (
        <table class="list">
          <caption class="visually-hidden">Revisions, newest first</caption>
          <thead><tr><th scope="col">Compare</th><th scope="col">Saved</th><th scope="col">By</th><th scope="col">Note</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            {revs.map((r, i) => (
              <tr>
                <td>{i > 0 ? <input type="radio" name="rev" id={'rev-' + r.id} checked={sel === r.id} onChange={() => setSel(r.id)}
                  aria-label={`Compare the revision of ${fmtDate(r.created_at)} with the current one`} /> : <span>Current</span>}</td>
                <td>{fmtDate(r.created_at)}</td>
                <td>{authors[r.author_id || ''] || ''}</td>
                <td>{r.log || ''}</td>
                <td>{i > 0 && <button type="button" class="small" onClick={() => restore(r)}>Restore<span class="visually-hidden"> the revision of {fmtDate(r.created_at)}</span></button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {diff && <section aria-label="Differences"><h2>Differences</h2><Diff changes={diff} before="Selected revision" after="Current" /></section>}
    </section>
  );
}
