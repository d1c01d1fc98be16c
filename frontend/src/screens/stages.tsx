import { useEffect, useRef, useState } from 'preact/hooks';
import * as api from '../api';
import { announce } from '../announce';
import { linkProps, navigate } from '../router';
import { LIVE, useApp } from '../state';
import { Diff } from '../widgets/diff';
import { fmtDate } from '../util';

export function StagesList() {
  const app = useApp();
  const [label, setLabel] = useState('');
  const [name, setName] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  const create = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    const n = name || label.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
    try {
      const s = await api.post<api.Stage>('/stages', { name: n, label: label || n });
      await app.reloadStages();
      await app.setStage(s.name || n);
      announce(`Stage “${s.label || label}” created; you are now editing in it.`);
      setLabel(''); setName('');
    } catch (err) {
      const x = err as api.ApiError;
      const m: Record<string, string> = {};
      for (const f of x.fields) m[f.path] = f.message;
      if (!x.fields.length) m._ = x.message;
      setErrors(m);
      announce(`Stage not created: ${x.message}`, 'error');
    } finally { setBusy(false); }
  };

  return (
    <section>
      <h1>Stages</h1>
      <StagesNav current="/stages" />
      <p>A stage collects changes over the live site. Edit in a stage, preview the whole site as it will be, then publish it in one step.</p>
      {app.stages.length === 0 ? <p>No open stages.</p> : (
        <table class="list">
          <caption class="visually-hidden">Open stages</caption>
          <thead><tr><th scope="col">Stage</th><th scope="col">Name</th><th scope="col">Publish at</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            {app.stages.map((s) => (
              <tr>
                <td><a {...linkProps('/stages/' + encodeURIComponent(s.name))}>{s.label || s.name}</a></td>
                <td><code>{s.name}</code></td>
                <td>{s.publish_at ? fmtDate(s.publish_at) : '—'}</td>
                <td>
                  {app.stage === s.name ? <span class="muted">Editing now</span> :
                    <button type="button" class="small" onClick={() => app.setStage(s.name)}>Edit in this stage<span class="visually-hidden">: {s.label || s.name}</span></button>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form class="inline-form" onSubmit={create} noValidate>
        <h2>New stage</h2>
        {errors._ && <p class="error">{errors._}</p>}
        <div class="field">
          <label for="st-label">Label</label>
          <input id="st-label" type="text" value={label} required aria-invalid={errors.label ? 'true' : undefined} aria-describedby={errors.label ? 'st-label-err' : undefined}
            onInput={(e) => setLabel((e.target as HTMLInputElement).value)} />
          {errors.label && <p class="field-errors" id="st-label-err">{errors.label}</p>}
        </div>
        <div class="field">
          <label for="st-name">Machine name</label>
          <input id="st-name" type="text" value={name} placeholder="made from the label" aria-invalid={errors.name ? 'true' : undefined} aria-describedby={errors.name ? 'st-name-err' : undefined}
            onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          {errors.name && <p class="field-errors" id="st-name-err">{errors.name}</p>}
        </div>
        <button type="submit" disabled={busy || !label}>Create stage</button>
      </form>
    </section>
  );
}

/** StageReview lists every change against live with its diff, then publishes. */
export function StageReview({ name }: { name: string }) {
  const app = useApp();
  const [changes, setChanges] = useState<api.StageChange[] | null>(null);
  const [error, setError] = useState('');
  const [report, setReport] = useState<api.PublishReport | null>(null);
  const [choices, setChoices] = useState<Record<string, string>>({});
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState(false);
  const [open, setOpen] = useState<Record<string, boolean>>({});
  const resultRef = useRef<HTMLDivElement>(null);
  const [label] = useState(() => app.stages.find((s) => s.name === name)?.label || name);

  const load = () => {
    setChanges(null);
    api.all<api.StageChange>('/stages/' + encodeURIComponent(name) + '/diff', {}, 5000).then(
      (d) => setChanges(d),
      (e: api.ApiError) => { setChanges([]); setError(e.status === 404 ? 'This stage does not exist, or you may not see it.' : e.message); });
  };
  useEffect(load, [name]);

  const publish = async (dryRun: boolean) => {
    setBusy(true);
    try {
      const body = { dry_run: dryRun, message, on_conflict: 'abort', choices };
      const r = await api.post<api.PublishReport>('/stages/' + encodeURIComponent(name) + '/publish', body);
      setReport(r);
      const problems = (r.entries || []).filter((e) => e.problem);
      if (r.applied) {
        await app.reloadStages();
        if (app.stage === name) await app.setStage(LIVE, { quiet: true });
        announce(`Published ${label}: ${r.entries.length} change${r.entries.length === 1 ? ' is' : 's are'} live. You are editing live again.`);
      } else if (problems.length) {
        announce(`${dryRun ? 'Check' : 'Not published'}: ${problems.length} item${problems.length === 1 ? '' : 's'} need a decision.`, 'error');
      } else if (dryRun) {
        announce('Check passed: the stage can be published.');
      }
    } catch (err) {
      const e = err as api.ApiError;
      const rep = api.reportOf(e);
      if (rep) {
        setReport(rep);
        announce(`Not published: ${e.message}`, 'error');
      } else {
        setError(e.message);
        announce(`Not published: ${e.message}`, 'error');
      }
    } finally {
      setBusy(false);
      setTimeout(() => resultRef.current?.focus());
    }
  };

  // Ctrl+Shift+P publishes (the button says so in aria-keyshortcuts).
  const publishRef = useRef(publish);
  publishRef.current = publish;
  useEffect(() => {
    const key = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.shiftKey && e.key.toLowerCase() === 'p') { e.preventDefault(); publishRef.current(false); }
    };
    window.addEventListener('keydown', key);
    return () => window.removeEventListener('keydown', key);
  }, []);

  const discard = async () => {
    if (!confirm(`Discard every change in ${name}? This cannot be undone.`)) return;
    try {
      await api.post('/stages/' + encodeURIComponent(name) + '/discard', {});
      announce(`Stage ${name} discarded.`);
      await app.reloadStages();
      if (app.stage === name) await app.setStage(LIVE, { quiet: true });
      navigate('/stages', { force: true });
    } catch (e) { announce(`Not discarded: ${(e as api.ApiError).message}`, 'error'); }
  };

  const problems = (report?.entries || []).filter((e) => e.problem);
  const published = !!report?.applied;
  const key = (c: api.StageChange) => `${c.kind}:${c.entity_id}`;

  return (
    <section class="stage-review">
      <div class="screen-head">
        <h1>Review stage “{label}”</h1>
        <a {...linkProps('/stages')}>All stages</a>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      {changes === null && <p role="status">Loading changes…</p>}
      {changes && changes.length === 0 && !error && <p>This stage changes nothing yet.</p>}
      {changes && changes.length > 0 && (
        <>
          <p>{changes.length} change{changes.length === 1 ? '' : 's'} against live:</p>
          <ul class="changes">
            {changes.map((c) => (
              <li>
                <div class="change-head">
                  <span class={'badge ' + c.action}>{c.action}</span>{' '}
                  <strong>{c.label || c.entity_id}</strong> <span class="muted">({c.kind})</span>{' '}
                  {c.diff && c.diff.length > 0 && (
                    <button type="button" class="small link" aria-expanded={!!open[key(c)]} onClick={() => setOpen({ ...open, [key(c)]: !open[key(c)] })}>
                      {open[key(c)] ? 'Hide' : 'Show'} differences<span class="visually-hidden"> for {c.label}</span>
                    </button>
                  )}
                </div>
                {open[key(c)] && c.diff && <Diff changes={c.diff} before="Live" after="This stage" />}
              </li>
            ))}
          </ul>
        </>
      )}

      <div ref={resultRef} tabIndex={-1} class="publish-result">
        {report && report.applied && (
          <p class="ok">Published{report.release ? ` as release ${fmtDate(report.release.created_at)}` : ''}. <a {...linkProps('/releases')}>See releases</a></p>
        )}
        {report && !report.applied && problems.length === 0 && report.dry_run && <p class="ok">The check found no problems: the stage can be published.</p>}
        {problems.length > 0 && (
          <fieldset class="conflicts">
            <legend>{problems.length} item{problems.length === 1 ? '' : 's'} need a decision before publishing</legend>
            {problems.map((p) => {
              const k = key(p);
              return (
                <div class="conflict-row">
                  <p><strong>{p.label || p.entity_id}</strong> ({p.kind}): {p.problem === 'conflict' ? 'live changed since this stage copied it' : 'the result would be invalid'}.
                    {p.messages && p.messages.length > 0 && <> {p.messages.join(' ')}</>}</p>
                  {p.diff && p.diff.length > 0 && <Diff changes={p.diff} before="Live" after="This stage" />}
                  <div role="radiogroup" aria-label={`Resolution for ${p.label || p.entity_id}`} class="choices">
                    {(p.problem === 'conflict' ? ['mine', 'theirs', 'abort'] : ['theirs', 'abort']).map((c) => (
                      <label class="check">
                        <input type="radio" name={'res-' + k} value={c} checked={(choices[k] || 'abort') === c}
                          onChange={() => setChoices({ ...choices, [k]: c })} />
                        {' '}{c === 'mine' ? 'Publish mine (overwrite live)' : c === 'theirs' ? 'Keep live (drop mine)' : 'Stop the publish'}
                      </label>
                    ))}
                  </div>
                </div>
              );
            })}
          </fieldset>
        )}
      </div>

      {changes && changes.length > 0 && !published && (
        <div class="publish-box">
          <div class="field">
            <label for="pub-msg">Release note</label>
            <input id="pub-msg" type="text" value={message} onInput={(e) => setMessage((e.target as HTMLInputElement).value)} placeholder="What this release changes (optional)" />
          </div>
          <div class="actions">
            <button type="button" disabled={busy} onClick={() => publish(true)}>Check for conflicts</button>
            <button type="button" class="primary" disabled={busy} onClick={() => publish(false)} aria-keyshortcuts="Control+Shift+P">{busy ? 'Publishing…' : 'Publish to live'}</button>
            <span class="muted kbd-hint">Ctrl+Shift+P</span>
            <button type="button" class="danger" disabled={busy} onClick={discard}>Discard stage</button>
          </div>
        </div>
      )}
      {changes !== null && !published && !error && <Schedule name={name} />}
    </section>
  );
}

/** localInput is an RFC 3339 time as a datetime-local value in this browser's zone. */
function localInput(iso?: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (isNaN(d.getTime())) return '';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Schedule sets or clears the stage's publish-at time (the scheduler publishes it once). */
function Schedule({ name }: { name: string }) {
  const app = useApp();
  const current = app.stages.find((s) => s.name === name)?.publish_at || null;
  const [at, setAt] = useState(localInput(current));
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => setAt(localInput(current)), [current]);
  const save = async (when: string | null) => {
    setError('');
    let iso: string | null = null;
    if (when) {
      const d = new Date(when);
      if (isNaN(d.getTime())) { setError('Enter a date and time.'); return; }
      if (d.getTime() <= Date.now()) { setError('Choose a time in the future.'); announce('Not scheduled: choose a time in the future.', 'error'); return; }
      iso = d.toISOString().replace(/\.\d{3}Z$/, 'Z');
    }
    setBusy(true);
    try {
      await api.put('/stages/' + encodeURIComponent(name) + '/schedule', { publish_at: iso });
      await app.reloadStages();
      announce(iso ? `The stage will be published on ${fmtDate(iso)}.` : 'The scheduled publish is cleared.');
    } catch (e) {
      const x = e as api.ApiError;
      setError(x.fields[0]?.message ? `${x.message} (${x.fields[0].message})` : x.message);
      announce(`Not scheduled: ${x.message}`, 'error');
    } finally { setBusy(false); }
  };
  return (
    <form class="schedule inline-form" onSubmit={(e) => { e.preventDefault(); save(at); }} noValidate>
      <h2>Scheduled publish</h2>
      <p class="help" id="sched-help">{current ? `Publishes on its own on ${fmtDate(current)}.` : 'Not scheduled: the stage is published only when someone publishes it.'} Times are in this computer's time zone.</p>
      <div class="field">
        <label for="sched-at">Publish at</label>
        <input id="sched-at" type="datetime-local" value={at} aria-describedby={'sched-help' + (error ? ' sched-err' : '')} aria-invalid={error ? 'true' : undefined}
          onInput={(e) => setAt((e.target as HTMLInputElement).value)} />
        {error && <p class="field-errors" id="sched-err">{error}</p>}
      </div>
      <div class="actions">
        <button type="submit" disabled={busy || !at}>Schedule</button>
        {current && <button type="button" disabled={busy} onClick={() => { setAt(''); save(null); }}>Clear schedule</button>}
      </div>
    </form>
  );
}

/** StagesNav: the stages and the releases they made. */
export function StagesNav({ current }: { current: string }) {
  return (
    <nav aria-label="Publishing"><ul class="tabs">
      {[['/stages', 'Stages'], ['/releases', 'Releases']].map(([to, label]) => (
        <li><a {...linkProps(to)} aria-current={to === current ? 'page' : undefined}>{label}</a></li>
      ))}
    </ul></nav>
  );
}
