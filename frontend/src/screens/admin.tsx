// Administration: users, roles and the permission matrix, API tokens,
// the audit log and plugins. Each screen shows what the API lets the
// signed-in user see; a refusal is shown, not hidden.
import { useEffect, useState } from 'preact/hooks';
import * as api from '../api';
import { announce } from '../announce';
import { linkProps } from '../router';
import { fmtDate } from '../util';
import { useApp } from '../state';

const TABS: [string, string][] = [
  ['/users', 'Users'], ['/permissions', 'Permissions'], ['/tokens', 'API tokens'],
  ['/audit', 'Audit log'], ['/plugins', 'Plugins'],
];

function AdminNav({ current }: { current: string }) {
  return (
    <nav aria-label="Administration"><ul class="tabs">
      {TABS.map(([to, label]) => <li><a {...linkProps(to)} aria-current={to === current ? 'page' : undefined}>{label}</a></li>)}
    </ul></nav>
  );
}

function useList<T>(path: string, q: Record<string, string> = {}, deps: unknown[] = []) {
  const [rows, setRows] = useState<T[] | null>(null);
  const [error, setError] = useState('');
  const load = () => api.all<T>(path, q, 1000).then((r) => { setRows(r); setError(''); }, (e: api.ApiError) => {
    setRows([]);
    setError(e.status === 403 ? 'You may not see this.' : e.message);
  });
  useEffect(() => { load(); }, deps);
  return { rows, error, load };
}

type UserRow = api.User & { status?: string; created_at?: string };
// Roles every user has by being signed in (or not): never assigned.
const IMPLICIT_ROLES = ['anonymous', 'authenticated'];

export function Users() {
  const { rows, error, load } = useList<UserRow>('/users');
  const roles = useList<Role>('/roles');
  const [editing, setEditing] = useState<UserRow | null>(null);
  const assignable = (roles.rows || []).filter((r) => !IMPLICIT_ROLES.includes(r.name));
  return (
    <section>
      <h1>Users</h1>
      <AdminNav current="/users" />
      {error && <p class="error" role="alert">{error}</p>}
      {rows === null && <p role="status">Loading…</p>}
      {rows && rows.length > 0 && (
        <table class="list">
          <caption class="visually-hidden">Users</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Status</th><th scope="col">Roles</th><th scope="col">Since</th><th scope="col">Actions</th></tr></thead>
          <tbody>{rows.map((u) => (
            <tr><td>{u.name}</td><td>{u.email || ''}</td><td><span class={'badge ' + (u.status || '')}>{u.status || ''}</span></td><td>{(u.roles || []).filter((r) => !IMPLICIT_ROLES.includes(r)).join(', ')}</td><td>{fmtDate(u.created_at)}</td>
              <td><button type="button" class="small" onClick={() => setEditing(u)}>Edit<span class="visually-hidden"> {u.name}</span></button></td></tr>
          ))}</tbody>
        </table>
      )}
      {!error && <UserForm key={editing?.id || 'new'} user={editing} roles={assignable} done={() => { setEditing(null); load(); }} />}
    </section>
  );
}

/** UserForm creates a user (name, email, password, roles) or edits one:
 * email, active or blocked, roles added and removed one request each. */
function UserForm({ user, roles, done }: { user: UserRow | null; roles: Role[]; done: () => void }) {
  const app = useApp();
  const [name, setName] = useState(user?.name || '');
  const [email, setEmail] = useState(user?.email || '');
  const [password, setPassword] = useState('');
  const [status, setStatus] = useState(user?.status || 'active');
  const [picked, setPicked] = useState<string[]>((user?.roles || []).filter((r) => !IMPLICIT_ROLES.includes(r)));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const self = user?.id === app.user?.id;
  useEffect(() => { if (user) document.getElementById('user-email')?.focus(); }, [user]);

  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      if (!user) {
        await api.post('/users', { name, email, password: password || undefined, roles: picked });
        announce(`User ${name} created.`);
        setName(''); setEmail(''); setPassword(''); setPicked([]);
      } else {
        await api.patch('/users/' + user.id, { email, status });
        const had = (user.roles || []).filter((r) => !IMPLICIT_ROLES.includes(r));
        for (const r of picked.filter((r) => !had.includes(r))) await api.put(`/users/${user.id}/roles/${encodeURIComponent(r)}`, {});
        for (const r of had.filter((r) => !picked.includes(r))) await api.del(`/users/${user.id}/roles/${encodeURIComponent(r)}`);
        announce(`User ${user.name} saved${status === 'blocked' ? ' (blocked: they cannot sign in)' : ''}.`);
      }
      done();
    } catch (x) {
      const err = x as api.ApiError;
      const m: Record<string, string> = {};
      for (const f of err.fields) m[f.path.split(/[.[]/)[0]] = f.message;
      if (!err.fields.length) m._ = err.message;
      setErrors(m);
      announce(`User not saved: ${err.message}`, 'error');
    } finally { setBusy(false); }
  };
  const desc = (k: string, id: string, help?: string) => [help, errors[k] ? id + '-err' : ''].filter(Boolean).join(' ') || undefined;
  const err = (k: string, id: string) => errors[k] ? <p class="field-errors" id={id + '-err'}>{errors[k]}</p> : null;
  return (
    <form class="inline-form" onSubmit={save} noValidate aria-labelledby="user-form-h">
      <h2 id="user-form-h">{user ? `Edit ${user.name}` : 'New user'}</h2>
      {errors._ && <p class="error">{errors._}</p>}
      {!user && (
        <div class="field"><label for="user-name">User name</label>
          <input id="user-name" type="text" autocomplete="off" value={name} aria-invalid={errors.name ? 'true' : undefined} aria-describedby={desc('name', 'user-name')}
            onInput={(e) => setName((e.target as HTMLInputElement).value)} />{err('name', 'user-name')}</div>
      )}
      <div class="field"><label for="user-email">Email</label>
        <input id="user-email" type="email" autocomplete="off" value={email} aria-invalid={errors.email ? 'true' : undefined} aria-describedby={desc('email', 'user-email')}
          onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />{err('email', 'user-email')}</div>
      {!user && (
        <div class="field"><label for="user-password">Password</label>
          <p class="help" id="user-password-help">Optional: without one, the user signs in through a password reset.</p>
          <input id="user-password" type="password" autocomplete="new-password" value={password} aria-invalid={errors.password ? 'true' : undefined}
            aria-describedby={desc('password', 'user-password', 'user-password-help')} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />{err('password', 'user-password')}</div>
      )}
      {user && (
        <fieldset><legend>Status</legend>
          {['active', 'blocked'].map((s) => (
            <label class="check"><input type="radio" name="user-status" value={s} checked={status === s} disabled={self && s === 'blocked'}
              onChange={() => setStatus(s)} /> {s === 'active' ? 'Active' : 'Blocked (cannot sign in)'}</label>
          ))}
          {self && <p class="help">You cannot block yourself.</p>}
        </fieldset>
      )}
      <fieldset><legend>Roles</legend>
        {roles.length === 0 && <p class="muted">No roles to assign.</p>}
        {roles.map((r) => (
          <label class="check"><input type="checkbox" checked={picked.includes(r.name)}
            onChange={(e) => setPicked((e.target as HTMLInputElement).checked ? [...picked, r.name] : picked.filter((x) => x !== r.name))} /> {r.label || r.name}</label>
        ))}
        {errors.roles && <p class="field-errors">{errors.roles}</p>}
      </fieldset>
      <div class="actions">
        <button type="submit" class="primary" disabled={busy || (!user && !name)}>{user ? 'Save user' : 'Create user'}</button>
        {user && <button type="button" onClick={done}>Cancel</button>}
      </div>
    </form>
  );
}

interface PermRow { name: string; title?: string; source?: string; roles: string[] }
interface Role { name: string; label?: string; builtin?: boolean }

export function Permissions() {
  const perms = useList<PermRow>('/permissions');
  const roles = useList<Role>('/roles');
  const [busy, setBusy] = useState('');
  const toggle = async (role: string, perm: string, grant: boolean) => {
    const k = role + '/' + perm;
    setBusy(k);
    try {
      const path = `/roles/${encodeURIComponent(role)}/permissions/${encodeURIComponent(perm)}`;
      if (grant) await api.put(path, {}); else await api.del(path);
      announce(`${grant ? 'Granted' : 'Revoked'} “${perm}” ${grant ? 'to' : 'from'} ${role}.`);
      await perms.load();
    } catch (e) { announce(`Not changed: ${(e as api.ApiError).message}`, 'error'); } finally { setBusy(''); }
  };
  const rs = roles.rows || [];
  return (
    <section>
      <h1>Permissions</h1>
      <AdminNav current="/permissions" />
      {(perms.error || roles.error) && <p class="error" role="alert">{perms.error || roles.error}</p>}
      {perms.rows === null && <p role="status">Loading…</p>}
      {perms.rows && perms.rows.length > 0 && rs.length > 0 && (
        <div class="matrix-wrap">
          <table class="list matrix">
            <caption class="visually-hidden">Permissions by role</caption>
            <thead><tr><th scope="col">Permission</th>{rs.map((r) => <th scope="col">{r.label || r.name}</th>)}</tr></thead>
            <tbody>{perms.rows.map((p) => (
              <tr>
                <th scope="row"><span>{p.title || p.name}</span>{p.title && <code class="muted"> {p.name}</code>}</th>
                {rs.map((r) => (
                  <td class="center">
                    <input type="checkbox" checked={p.roles.includes(r.name)} disabled={busy !== '' || r.name === 'admin'}
                      aria-label={`${r.label || r.name}: ${p.title || p.name}`}
                      onChange={(e) => toggle(r.name, p.name, (e.target as HTMLInputElement).checked)} />
                  </td>
                ))}
              </tr>
            ))}</tbody>
          </table>
        </div>
      )}
    </section>
  );
}

interface Token { id: string; name: string; permissions?: string[]; stage_id?: string; created_at?: string; expires_at?: string; last_used_at?: string; revoked_at?: string }

export function Tokens() {
  const { rows, error, load } = useList<Token>('/tokens');
  const [name, setName] = useState('');
  const [perms, setPerms] = useState('');
  const [days, setDays] = useState('30');
  const [created, setCreated] = useState('');
  const create = async (e: Event) => {
    e.preventDefault();
    try {
      const expires = new Date(Date.now() + Number(days || '30') * 86400000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      const r = await api.post('/tokens', { name, permissions: perms.split(/[\s,]+/).filter(Boolean), expires_at: expires });
      setCreated(r.token);
      setName(''); setPerms('');
      announce('Token created. Copy it now: it is not shown again.');
      load();
    } catch (x) { announce(`Token not created: ${(x as api.ApiError).message}`, 'error'); }
  };
  const revoke = async (t: Token) => {
    if (!confirm(`Revoke the token “${t.name}”? Scripts using it stop working.`)) return;
    try { await api.del('/tokens/' + t.id); announce(`Token “${t.name}” revoked.`); load(); } catch (x) { announce(`Not revoked: ${(x as api.ApiError).message}`, 'error'); }
  };
  return (
    <section>
      <h1>API tokens</h1>
      <AdminNav current="/tokens" />
      {error && <p class="error" role="alert">{error}</p>}
      {created && (
        <div class="notice" role="region" aria-label="New token">
          <p>Your new token (shown once):</p>
          <p><code class="token">{created}</code></p>
          <button type="button" onClick={() => setCreated('')}>I have copied it</button>
        </div>
      )}
      {rows && rows.length > 0 && (
        <table class="list">
          <caption class="visually-hidden">Your API tokens</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Permissions</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col">Actions</th></tr></thead>
          <tbody>{rows.map((t) => (
            <tr><td>{t.name}</td><td>{(t.permissions || []).join(', ')}</td><td>{fmtDate(t.created_at)}</td><td>{fmtDate(t.expires_at)}</td>
              <td>{t.revoked_at ? <span class="muted">revoked</span> : <button type="button" class="small danger" onClick={() => revoke(t)}>Revoke<span class="visually-hidden"> {t.name}</span></button>}</td></tr>
          ))}</tbody>
        </table>
      )}
      {rows && rows.length === 0 && !error && <p>No tokens.</p>}
      <form class="inline-form" onSubmit={create}>
        <h2>New token</h2>
        <div class="field"><label for="tok-name">Name</label><input id="tok-name" type="text" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} /></div>
        <div class="field"><label for="tok-perms">Permissions</label>
          <p class="help" id="tok-perms-help">Permission names separated by spaces, each one you hold (see Permissions).</p>
          <input id="tok-perms" type="text" aria-describedby="tok-perms-help" value={perms} onInput={(e) => setPerms((e.target as HTMLInputElement).value)} /></div>
        <div class="field"><label for="tok-days">Valid for (days)</label><input id="tok-days" type="number" min="1" max="365" value={days} onInput={(e) => setDays((e.target as HTMLInputElement).value)} /></div>
        <button type="submit" disabled={!name}>Create token</button>
      </form>
    </section>
  );
}

interface Audit { id: number; at: string; actor?: string; action?: string; object?: string; detail?: unknown; client_addr?: string }

export function AuditLog() {
  const [rows, setRows] = useState<Audit[] | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    api.get('/audit', { limit: 100 }).then((d) => setRows(api.listOf<Audit>(d)), (e: api.ApiError) => { setRows([]); setError(e.status === 403 ? 'You may not see this.' : e.message); });
  }, []);
  return (
    <section>
      <h1>Audit log</h1>
      <AdminNav current="/audit" />
      {error && <p class="error" role="alert">{error}</p>}
      {rows === null && <p role="status">Loading…</p>}
      {rows && rows.length > 0 && (
        <table class="list">
          <caption class="visually-hidden">The latest 100 entries, newest first</caption>
          <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">Object</th><th scope="col">From</th></tr></thead>
          <tbody>{rows.map((a) => (
            <tr><td>{fmtDate(a.at)}</td><td>{a.actor || ''}</td><td><code>{a.action}</code></td><td>{a.object || ''}</td><td>{a.client_addr || ''}</td></tr>
          ))}</tbody>
        </table>
      )}
    </section>
  );
}

interface Plugin { name: string; version?: string; description?: string; enabled?: boolean; loaded?: boolean; requested?: string[]; approved?: string[]; disabled_reason?: string }

export function Plugins() {
  const { rows, error, load } = useList<Plugin>('/plugins');
  const act = async (p: Plugin, enable: boolean) => {
    if (enable && p.requested && p.requested.length &&
      !confirm(`Enable ${p.name}? It asks for: ${p.requested.join(', ')}. Enabling approves these capabilities.`)) return;
    try {
      await api.post(`/plugins/${encodeURIComponent(p.name)}/${enable ? 'enable' : 'disable'}`, enable ? { approved: p.requested || [] } : {});
      announce(`${p.name} ${enable ? 'enabled' : 'disabled'}.`);
      load();
    } catch (e) { announce(`${p.name} not ${enable ? 'enabled' : 'disabled'}: ${(e as api.ApiError).message}`, 'error'); }
  };
  return (
    <section>
      <h1>Plugins</h1>
      <AdminNav current="/plugins" />
      {error && <p class="error" role="alert">{error}</p>}
      {rows === null && <p role="status">Loading…</p>}
      {rows && rows.length === 0 && !error && <p>No plugins are installed.</p>}
      {rows && rows.length > 0 && (
        <table class="list">
          <caption class="visually-hidden">Installed plugins</caption>
          <thead><tr><th scope="col">Plugin</th><th scope="col">Version</th><th scope="col">State</th><th scope="col">Capabilities</th><th scope="col">Actions</th></tr></thead>
          <tbody>{rows.map((p) => (
            <tr>
              <td><strong>{p.name}</strong>{p.description && <div class="muted">{p.description}</div>}</td>
              <td>{p.version || ''}</td>
              <td>{p.enabled ? (p.loaded === false ? 'enabled, not loaded' : 'enabled') : 'disabled'}{p.disabled_reason && <div class="muted">{p.disabled_reason}</div>}</td>
              <td>{(p.requested || []).join(', ') || '—'}</td>
              <td><button type="button" class="small" onClick={() => act(p, !p.enabled)}>{p.enabled ? 'Disable' : 'Enable'}<span class="visually-hidden"> {p.name}</span></button></td>
            </tr>
          ))}</tbody>
        </table>
      )}
    </section>
  );
}
