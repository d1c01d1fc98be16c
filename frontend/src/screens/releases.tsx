import { useEffect, useState } from 'preact/hooks';
import * as api from '../api';
import { announce } from '../announce';
import { fmtDate } from '../util';
import { StagesNav } from './stages';

export function Releases() {
  const [rows, setRows] = useState<api.Release[] | null>(null);
  const [error, setError] = useState('');
  const [report, setReport] = useState<api.PublishReport | null>(null);
  const load = () => api.get('/releases', { limit: 50 }).then((d) => setRows(api.listOf<api.Release>(d)), (e: api.ApiError) => { setRows([]); setError(e.message); });
  useEffect(() => { load(); }, []);

  const rollback = async (r: api.Release, choices?: Record<string, string>) => {
    if (!choices && !confirm(`Roll back the release of ${fmtDate(r.created_at)} (${r.stage_name})? Live returns to its state before it; later changes are reported, not overwritten.`)) return;
    try {
      const rep = await api.post<api.PublishReport>('/releases/' + r.id + '/rollback', { on_conflict: 'abort', choices: choices || {} });
      setReport(rep);
      if (rep.applied) { announce('Release rolled back.'); load(); }
      else announce('Not rolled back: later changes conflict.', 'error');
    } catch (e) {
      const x = e as api.ApiError;
      const rep = api.reportOf(x);
      if (rep) setReport(rep);
      announce(`Not rolled back: ${x.message}`, 'error');
    }
  };

  return (
    <section>
      <h1>Releases</h1>
      <StagesNav current="/releases" />
      {error && <p class="error" role="alert">{error}</p>}
      {rows === null && <p role="status">Loading…</p>}
      {rows && rows.length === 0 && !error && <p>Nothing has been published yet.</p>}
      {rows && rows.length > 0 && (
        <table class="list">
          <caption class="visually-hidden">Releases, newest first</caption>
          <thead><tr><th scope="col">When</th><th scope="col">Stage</th><th scope="col">Note</th><th scope="col">Changes</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            {rows.map((r) => (
              <tr>
                <td>{fmtDate(r.created_at)}</td>
                <td>{r.stage_name}{r.rollback_of && <span class="muted"> (rollback)</span>}</td>
                <td>{r.message || ''}</td>
                <td>{r.entries ? r.entries.length : ''}</td>
                <td><button type="button" class="small" onClick={() => rollback(r)}>Roll back<span class="visually-hidden"> the release of {fmtDate(r.created_at)}</span></button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {report && !report.applied && (
        <div class="notice" role="region" aria-label="Rollback problems">
          <p>The rollback stopped: these items changed after the release.</p>
          <ul>{report.entries.filter((e) => e.problem).map((e) => <li>{e.label || e.entity_id}: {e.problem} {e.messages?.join(' ')}</li>)}</ul>
        </div>
      )}
    </section>
  );
}
