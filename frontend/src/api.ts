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

export const get = <T = any>(p: string, q?: Query) => request<T>('GET', p, undefined, q);
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
