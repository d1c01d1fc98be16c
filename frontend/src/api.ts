// The one place that knows the editor API (/api/v1, server/api/openapi.yaml).
// Every request is same-origin JSON with the session cookie; writes carry
// the CSRF token the session answer gave us.

export const API = '/api/v1';

export interface FieldError { path: string; message: string }

/** ApiError is the API's one error shape {code, message, fields}. */
export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public fields: FieldError[] = [],
    public body: any = null,
  ) {
    super(message);
  }
}

let csrf = '';
export function setCSRF(token: string | undefined | null) { csrf = token || ''; }

type Query = Record<string, string | number | boolean | undefined | null>;

function qs(q?: Query): string {
  if (!q) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null || v === '') continue;
    p.set(k, String(v));
  }
  const s = p.toString();
  return s ? '?' + s : '';
}

let onUnauthorized: (() => void) | null = null;
/** Called when a request answers 401 (the session expired). */
export function handleUnauthorized(f: () => void) { onUnauthorized = f; }

export async function request<T = any>(method: string, path: string, body?: unknown, q?: Query): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  let payload: BodyInit | undefined;
  if (body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  let res: Response;
  try {
    res = await fetch(API + path + qs(q), { method, headers, body: payload, credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'unavailable', 'The server cannot be reached. Check the connection and try again.');
  }
  const token = res.headers.get('X-CSRF-Token');
  if (token) csrf = token;
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: any = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const e = data && typeof data === 'object' ? (data.error && typeof data.error === 'object' ? data.error : data) : {};
    const err = new ApiError(res.status, e.code || statusCode(res.status), e.message || res.statusText || 'The request failed.', Array.isArray(e.fields) ? e.fields : [], data);
    if (res.status === 401 && onUnauthorized && !path.startsWith('/session')) onUnauthorized();
    throw err;
  }
  return data as T;
}

function statusCode(s: number): string {
  switch (s) {
    case 400: case 422: return 'invalid';
    case 401: return 'unauthorized';
    case 403: return 'forbidden';
    case 404: return 'not_found';
    case 409: return 'conflict';
    case 413: return 'too_large';
    case 429: return 'rate_limited';
    case 501: return 'not_implemented';
    case 503: return 'unavailable';
  }
  return 'internal';
}

const early = new Map<string, { p: Promise<unknown>; at: number }>();
const EARLY_MS = 10000; // an answer not taken by then may be stale: ask again

/** prefetch starts a GET now (at boot, beside the app's own code) for the
 * next get() of the same URL within 10 s to take; if it failed, that get()
 * asks again. */
export function prefetch(path: string, q?: Query) {
  const k = path + qs(q);
  if (early.has(k)) return;
  const p = request('GET', path, undefined, q);
  p.catch(() => { /* the get() that takes it asks again */ });
  early.set(k, { p, at: performance.now() });
}

export function get<T = any>(path: string, q?: Query): Promise<T> {
  const k = path + qs(q);
  const e = early.get(k);
  if (!e) return request<T>('GET', path, undefined, q);
  early.delete(k);
  if (performance.now() - e.at > EARLY_MS) return request<T>('GET', path, undefined, q);
  return (e.p as Promise<T>).catch(() => request<T>('GET', path, undefined, q));
}

export const post = <T = any>(p: string, b?: unknown, q?: Query) => request<T>('POST', p, b ?? {}, q);
export const put = <T = any>(p: string, b?: unknown, q?: Query) => request<T>('PUT', p, b ?? {}, q);
export const patch = <T = any>(p: string, b?: unknown, q?: Query) => request<T>('PATCH', p, b ?? {}, q);
export const del = <T = any>(p: string, q?: Query) => request<T>('DELETE', p, undefined, q);

// ---- shapes ----

export interface User { id: string; name: string; email?: string; roles?: string[]; permissions?: string[] }
export interface Session { user: User; csrf_token?: string; preview_stage?: string | null; preview_stage_id?: string | null }

export interface FieldDef {
  name: string; label?: string; description?: string; type: string; required?: boolean;
  cardinality?: number | 'unlimited'; default?: unknown; format?: string; max_length?: number;
  min?: string | number; max?: string | number; scale?: number; allowed_values?: (string | number)[];
  target_types?: string[]; vocabulary?: string; allowed_mime?: string[]; max_size?: number;
}
export interface ItemType { name: string; label: string; description?: string; title_label?: string; fields?: FieldDef[]; version?: number }

export interface Item {
  id: string; type: string; title: string; status: string; author_id?: string; author?: string;
  created_at?: string; changed_at?: string; promote?: boolean; sticky?: boolean; language?: string;
  fields: Record<string, any>; revision_id: string; type_version?: number; path?: string; url?: string;
}
export interface Page<T> { items: T[]; next_cursor?: string | null; prev_cursor?: string | null; total?: number }

export interface Stage { id: string; name: string; label: string; state: string; publish_at?: string | null }
export interface FieldChange { path: string; old?: any; new?: any; before?: any; after?: any; from?: any; to?: any }
export interface StageChange {
  kind: string; entity_id: string; label: string; action: string; revision_id?: string;
  base_revision_id?: string; live_revision_id?: string; diff?: FieldChange[];
}
export interface PublishEntry extends StageChange { problem?: string; messages?: string[]; resolution?: string }
export interface Release { id: string; stage_id: string; stage_name: string; rollback_of?: string; created_by?: string; created_at: string; message?: string; entries?: any[] }
export interface PublishReport { stage?: Stage; release?: Release | null; applied: boolean; dry_run: boolean; entries: PublishEntry[] }
export interface Revision { id: string; entity_id?: string; parent_id?: string; stage_id?: string; author_id?: string; author?: string; created_at: string; log?: string; doc?: any }
export interface Term { id: string; vocabulary: string; name: string; description?: string; parents?: string[]; weight?: number; revision_id?: string }
export interface MenuLink { id: string; menu: string; title: string; path: string; parent_id?: string | null; weight: number; revision_id?: string }
export interface FileInfo { id: string; name?: string; filename?: string; mime?: string; size?: number; url?: string; hash?: string }

/** list normalises a list answer: a bare array or {items|data|...}. */
export function listOf<T>(data: any, key?: string): T[] {
  if (Array.isArray(data)) return data;
  if (!data || typeof data !== 'object') return [];
  for (const k of [key, 'items', 'data', 'results'].filter(Boolean) as string[]) {
    if (Array.isArray(data[k])) return data[k];
  }
  return [];
}

export function nextCursor(data: any): string | null {
  if (!data || typeof data !== 'object') return null;
  return data.next_cursor || data.next || (data.page && data.page.next) || null;
}

/** isSignedIn: the session answer names a real user (not anonymous). */
export function isSignedIn(s: any): boolean {
  const u = s && s.user;
  return !!(u && u.id && !/^0{8}-0{4}-0{4}-0{4}-0{12}$/.test(u.id) && u.name !== 'anonymous');
}

let typesP: Promise<ItemType[]> | null = null;
/** loadTypes reads every item type once (fresh: again, after a change). */
export function loadTypes(fresh = false): Promise<ItemType[]> {
  if (fresh || !typesP) {
    const p = all('/types').then((d) => d.map((x) => configBody<ItemType>(x)));
    p.catch(() => { if (typesP === p) typesP = null; });
    typesP = p;
  }
  return typesP;
}

/** configBody turns a config document {kind, name, body} into its body. */
export function configBody<T = any>(doc: any): T {
  if (doc && typeof doc === 'object' && doc.body && typeof doc.body === 'object') return { ...doc.body, name: doc.name ?? doc.body.name, ...(typeof doc.version === 'number' ? { version: doc.version } : {}) };
  return doc as T;
}

/** staged turns a staged document {kind, id, revision_id, doc} into the doc with its id and revision. */
export function staged<T = any>(d: any): T {
  if (d && typeof d === 'object' && d.doc && typeof d.doc === 'object') return { ...d.doc, id: d.id, revision_id: d.revision_id } as T;
  return d as T;
}

/** all reads every page of a cursor-paged list (up to max entries). */
export async function all<T = any>(path: string, q: Query = {}, max = 2000): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const d: any = await get(path, { ...q, limit: 200, cursor: cursor || undefined });
    out.push(...listOf<T>(d));
    cursor = nextCursor(d);
  } while (cursor && out.length < max);
  return out;
}

// ---- signing in and out: the site's own forms (the API has no login) ----

const SITE_LOGIN = '/user/login';
const SITE_LOGOUT = '/user/logout';

/** signIn signs in through the site's login form (so the session, its
 * lockout and its audit are the site's), then reads the API session. */
export async function signIn(name: string, password: string): Promise<Session> {
  let page: Response;
  try {
    page = await fetch(SITE_LOGIN, { credentials: 'same-origin', headers: { Accept: 'text/html' } });
  } catch {
    throw new ApiError(0, 'unavailable', 'The server cannot be reached. Check the connection and try again.');
  }
  if (!page.ok) throw new ApiError(page.status, 'unavailable', 'This server has no sign-in page.');
  const doc = new DOMParser().parseFromString(await page.text(), 'text/html');
  const form = [...doc.querySelectorAll('form')].find((f) => f.querySelector('input[type=password]'));
  if (!form) throw new ApiError(500, 'unavailable', 'The sign-in page has no sign-in form.');
  const body = new URLSearchParams();
  let named = false;
  for (const el of form.querySelectorAll<HTMLInputElement>('input[name]')) {
    const t = (el.getAttribute('type') || 'text').toLowerCase();
    if (t === 'password') body.set(el.name, password);
    else if (!named && (t === 'text' || t === 'email')) { body.set(el.name, name); named = true; }
    else if (t === 'hidden') body.set(el.name, el.value);
    else if ((t === 'checkbox' || t === 'radio') && el.checked) body.set(el.name, el.value || 'on');
  }
  const action = new URL(form.getAttribute('action') || SITE_LOGIN, location.origin + SITE_LOGIN);
  if (action.origin !== location.origin) throw new ApiError(500, 'unavailable', 'The sign-in form posts to another site.');
  let res: Response;
  try {
    res = await fetch(action.pathname + action.search, {
      method: 'POST', credentials: 'same-origin', body, redirect: 'manual', // success redirects to the site
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'text/html' },
    });
  } catch {
    throw new ApiError(0, 'unavailable', 'The server cannot be reached. Check the connection and try again.');
  }
  const s = await get<Session>('/session');
  if (isSignedIn(s)) return s;
  if (res.status === 429) throw new ApiError(429, 'rate_limited', 'Too many failed sign-ins. Wait a few minutes and try again.');
  // The site's answer says why; show its message when it has one.
  let msg = 'The name or password is not right.';
  try {
    const d = new DOMParser().parseFromString(await res.text(), 'text/html');
    const e = d.querySelector('[role=alert], .error, .messages--error, .form-error');
    if (e && e.textContent && e.textContent.trim()) msg = e.textContent.trim();
  } catch { /* keep the generic message */ }
  throw new ApiError(401, 'unauthorized', msg);
}

export async function signOut(): Promise<void> {
  try {
    await fetch(SITE_LOGOUT, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'X-CSRF-Token': csrf, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf_token: csrf }),
    });
  } catch { /* the session ends on the server side anyway when it expires */ }
  csrf = '';
}

/** previewPage is the HTML the site serves for path in stage (the API's
 * stage preview); a redirect answer is followed once. */
export async function previewPage(stage: string, path: string): Promise<string> {
  for (let hop = 0; hop < 2; hop++) {
    const res = await fetch(`${API}/stages/${encodeURIComponent(stage)}/preview?path=${encodeURIComponent(path)}`, { credentials: 'same-origin' });
    const ct = res.headers.get('Content-Type') || '';
    if (res.ok && ct.startsWith('text/html')) return res.text();
    const data = await res.json().catch(() => ({}));
    if (res.ok && data.redirect) { path = new URL(data.redirect, location.origin).pathname; continue; }
    throw new ApiError(res.status, data.code || 'unavailable', data.message || 'The preview failed.', data.fields || []);
  }
  throw new ApiError(508, 'unavailable', 'The page redirects too often.');
}

let renderMissing = false;
/** renderText asks the API to render text in a format (null when it cannot). */
export async function renderText(format: string, text: string): Promise<string | null> {
  if (renderMissing) return null;
  try {
    const r = await post('/render', { format, text });
    return typeof r === 'string' ? r : r?.html ?? '';
  } catch (e) {
    if ((e as ApiError).status === 404 || (e as ApiError).status === 405) { renderMissing = true; return null; }
    throw e;
  }
}

/** reportOf is the publish or rollback report a 409 carries (its "report"). */
export function reportOf(e: ApiError): PublishReport | null {
  const b = e.body;
  if (b && b.report && Array.isArray(b.report.entries)) return b.report;
  if (b && Array.isArray(b.entries)) return b;
  return null;
}
