// The Sync screen: the desktop's sync with its server (docs/desktop.md).
// State (idle, pulling n/m, pushing, offline since, last error), "Pull
// now", "Push stage", and every conflict with both sides and a choice:
// nothing is overwritten without one. The routes other than
// GET /sync/status exist only in the desktop app.
import { useEffect, useState } from 'preact/hooks';
import * as api from '../api';
import { announce } from '../announce';
import { useApp, LIVE } from '../state';
import { fmtDate } from '../util';
import { Diff } from '../widgets/diff';

interface SyncStatus {
  remote?: string; state: string; done: number; total: number; stage?: string;
  offline_since?: string | null; last_error?: string; last_pull?: string | null; last_push?: string | null;
  queued: string[] | null; conflicts: number;
}
interface Problem {
  kind: string; entity_id: string; problem: string; message: string;
  diff?: api.FieldChange[]; mine_doc?: any; theirs_doc?: any;
}
interface PushConflicts { stage_id: string; stage: string; problems: Problem[] }
interface PullConflict { kind: string; entity_id: string; diff: api.FieldChange[]; mine_doc?: any; theirs_doc?: any }
interface Conflicts { push: PushConflicts[]; pull: PullConflict[] }

function stateText(s: SyncStatus): string {
  switch (s.state) {
    case 'pulling': return `Pulling ${s.done}/${s.total} changes`;
    case 'pushing': return `Pushing stage ${s.stage || ''}`;
    case 'offline': return s.offline_since ? `Offline since ${fmtDate(s.offline_since)}` : 'Offline';
    case 'failed': return 'The last sync failed';
    default: return 'Idle';
  }
}

function label(doc: any, fallback: string): string {
  if (doc && typeof doc === 'object') return doc.title || doc.name || doc.alias || fallback;
  return fallback;
}

export function Sync() {
  const app = useApp();
  const [status, setStatus] = useState<SyncStatus | null>(null);
  const [conflicts, setConflicts] = useState<Conflicts | null>(null);
  const [desktop, setDesktop] = useState(true);
  const [busy, setBusy] = useState('');
  const [error, setError] = useState('');
  const [stage, setStage] = useState(app.stage !== LIVE ? app.stage : (app.stages[0]?.name || ''));

  const loadStatus = () => api.get<SyncStatus>('/sync/status').then(setStatus, (e: api.ApiError) => setError(e.message));
  const loadConflicts = () => api.get<Conflicts>('/sync/conflicts').then(setConflicts, (e: api.ApiError) => {
    if (e.status === 404) setDesktop(false);
    else if (e.status !== 400) setError(e.message);
    setConflicts({ push: [], pull: [] });
  });
  useEffect(() => {
    loadStatus();
    loadConflicts();
    const t = setInterval(loadStatus, 2000);
    return () => clearInterval(t);
  }, []);
  useEffect(() => { if (!stage && app.stages.length) setStage(app.stages[0].name); }, [app.stages]);

  const run = async (what: string, fn: () => Promise<void>) => {
    setBusy(what);
    setError('');
    try {
      await fn();
    } catch (e) {
      const x = e as api.ApiError;
      setError(x.message);
      announce(x.message, 'error');
    } finally {
      setBusy('');
      loadStatus();
      loadConflicts();
    }
  };
  const pull = () => run('pull', async () => {
    const r = await api.post<{ changes: number; conflicts: number }>('/sync/pull');
    announce(r.conflicts ? `Pulled ${r.changes} changes; ${r.conflicts} wait for your choice below.` : `Pulled ${r.changes} changes.`, r.conflicts ? 'info' : 'ok');
  });
  const push = () => run('push', async () => {
    try {
      const r = await api.post<{ entries: number; skipped: number }>('/sync/push', { stage });
      announce(`Pushed stage ${stage}: ${r.entries - r.skipped} changes applied on the server.`);
    } catch (e) {
      const x = e as api.ApiError;
      if (x.status === 409) {
        announce(`${x.message} Choose below, then push again.`, 'error');
        setError(`${x.message} Choose a version for each conflict below, then push again.`);
        return;
      }
      throw e;
    }
  });
  const resolve = (side: 'push' | 'pull', p: { kind: string; entity_id: string }, choice: 'mine' | 'theirs', stageName?: string) =>
    run('resolve', async () => {
      const c = await api.post<Conflicts>('/sync/resolve', { side, stage: stageName, kind: p.kind, entity_id: p.entity_id, choice });
      setConflicts(c);
      announce(choice === 'mine' ? 'Kept this computer’s version.' : 'Took the server’s version.');
    });

  const connected = !!(status && status.remote);
  const open = app.stages.filter((s) => s.name !== LIVE);
  return (
    <section>
      <h1>Sync</h1>
      {error && <p class="error" role="alert">{error}</p>}
      {status === null && <p role="status">Loading…</p>}
      {status && !connected && (
        <p>This site is not connected to a server. {desktop
          ? 'It was made on this computer; to work on a server’s site, connect to it on the desktop app’s first start.'
          : 'Sync runs from the desktop app, which pulls this server’s site and pushes stages back.'}</p>
      )}
      {status && connected && (
        <>
          <dl aria-live="polite">
            <dt>Server</dt><dd>{status.remote}</dd>
            <dt>State</dt><dd data-sync-state={status.state}>{stateText(status)}</dd>
            {status.last_error && <><dt>Last error</dt><dd>{status.last_error}</dd></>}
            <dt>Last pull</dt><dd>{status.last_pull ? fmtDate(status.last_pull) : 'never'}</dd>
            <dt>Last push</dt><dd>{status.last_push ? fmtDate(status.last_push) : 'never'}</dd>
            {status.queued && status.queued.length > 0 && <><dt>Waiting to push</dt><dd>{status.queued.join(', ')} (retried when the server answers)</dd></>}
          </dl>
          {desktop && (
            <div class="actions">
              <button type="button" onClick={pull} disabled={!!busy}>{busy === 'pull' ? 'Pulling…' : 'Pull now'}</button>
              <label for="sync-stage">Stage</label>
              <select id="sync-stage" value={stage} onChange={(e) => setStage((e.target as HTMLSelectElement).value)}>
                {open.length === 0 && <option value="">(no open stage)</option>}
                {open.map((s) => <option value={s.name}>{s.label || s.name}</option>)}
              </select>
              <button type="button" onClick={push} disabled={!!busy || !stage}>{busy === 'push' ? 'Pushing…' : 'Push stage'}</button>
            </div>
          )}
        </>
      )}
      {conflicts && conflicts.push.map((pc) => (
        <div class="notice" role="region" aria-label={`Push conflicts of stage ${pc.stage}`}>
          <h2>Stage {pc.stage}: the server refused the push</h2>
          <p>Nothing was applied on the server or here. Choose a version for each conflict, then push the stage again.</p>
          {pc.problems.map((p) => (
            <article class="conflict">
              <h3>{p.kind} “{label(p.mine_doc, label(p.theirs_doc, p.entity_id))}”</h3>
              <p>{p.message}</p>
              {p.problem === 'conflict' ? (
                <>
                  <Diff changes={p.diff || []} before="On the server (theirs)" after="On this computer (mine)" />
                  <button type="button" onClick={() => resolve('push', p, 'mine', pc.stage)} disabled={!!busy}>Keep mine<span class="visually-hidden"> for {p.kind} {p.entity_id}</span></button>{' '}
                  <button type="button" onClick={() => resolve('push', p, 'theirs', pc.stage)} disabled={!!busy}>Take theirs<span class="visually-hidden"> for {p.kind} {p.entity_id}</span></button>
                </>
              ) : <p class="muted">Fix it in the stage, then push again.</p>}
            </article>
          ))}
        </div>
      ))}
      {conflicts && conflicts.pull.length > 0 && (
        <div class="notice" role="region" aria-label="Pull conflicts">
          <h2>Pulled changes that met your edits of live</h2>
          <p>The server changed these after you edited them here; your version stays until you choose.</p>
          {conflicts.pull.map((p) => (
            <article class="conflict">
              <h3>{p.kind} “{label(p.mine_doc, label(p.theirs_doc, p.entity_id))}”</h3>
              <Diff changes={p.diff} before="On the server (theirs)" after="On this computer (mine)" />
              <button type="button" onClick={() => resolve('pull', p, 'mine')} disabled={!!busy}>Keep mine<span class="visually-hidden"> for {p.kind} {p.entity_id}</span></button>{' '}
              <button type="button" onClick={() => resolve('pull', p, 'theirs')} disabled={!!busy}>Take theirs<span class="visually-hidden"> for {p.kind} {p.entity_id}</span></button>
            </article>
          ))}
        </div>
      )}
      {conflicts && connected && conflicts.push.length === 0 && conflicts.pull.length === 0 && <p class="muted">No conflicts wait for a choice.</p>}
    </section>
  );
}
