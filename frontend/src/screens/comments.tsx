// Comment moderation (comments.administer): the queue of comments waiting
// for review, newest first, and the published ones. Each comment can be
// approved, unpublished, edited or deleted (with its replies); every
// result is announced, and focus moves to the next comment when one
// leaves the list.
import { useEffect, useRef, useState } from 'preact/hooks';
import * as api from '../api';
import { announce } from '../announce';
import { linkProps, navigate, useRoute } from '../router';
import { fmtDate } from '../util';

export interface Comment {
  id: string; item_id: string; item_title: string; parent_id?: string; author_id?: string;
  author_name: string; author_email?: string; anonymous: boolean; client_addr: string;
  body: string; status: 'pending' | 'published'; created_at: string; changed_at: string;
}

const STATUSES: [string, string][] = [['pending', 'Waiting for review'], ['published', 'Published'], ['', 'All']];

function who(c: Comment): string { return c.author_name || (c.anonymous ? 'an anonymous visitor' : 'a user'); }

export function Comments() {
  const { query } = useRoute();
  const status = query.get('status') ?? 'pending';
  const item = query.get('item') || '';
  const [rows, setRows] = useState<Comment[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState('');
  const [editing, setEditing] = useState<string | null>(null);
  const [text, setText] = useState('');
  const [editError, setEditError] = useState('');
  const [busy, setBusy] = useState('');
  const listRef = useRef<HTMLOListElement>(null);

  const load = async (cursor?: string) => {
    try {
      const d = await api.get('/comments', { status: status || undefined, item: item || undefined, limit: 50, cursor });
      const list = api.listOf<Comment>(d);
      setRows((cur) => (cursor && cur ? [...cur, ...list] : list));
      setNext(api.nextCursor(d));
      setError('');
    } catch (e) {
      setRows([]);
      setError((e as api.ApiError).status === 403 ? 'You may not moderate comments.' : (e as api.ApiError).message);
    }
  };
  useEffect(() => { setRows(null); setEditing(null); load(); }, [status, item]);

  const filter = (s: string, it = item) => {
    const q = new URLSearchParams();
    if (s !== 'pending') q.set('status', s);
    if (it) q.set('item', it);
    const qs = q.toString();
    navigate('/comments' + (qs ? '?' + qs : ''));
  };

  /** focusAfter moves focus to the comment that takes row i's place (or the heading). */
  const focusAfter = (i: number) => setTimeout(() => {
    const items = listRef.current?.querySelectorAll<HTMLElement>('li.comment');
    const target = items && items.length ? items[Math.min(i, items.length - 1)] : null;
    const el = target?.querySelector<HTMLElement>('.comment-actions button') || document.querySelector<HTMLElement>('main h1');
    if (el) { if (el.tagName === 'H1') el.tabIndex = -1; el.focus(); }
  });

  const replace = (c: Comment) => setRows((cur) => (cur || []).map((x) => (x.id === c.id ? c : x)));
  const drop = (id: string) => setRows((cur) => (cur || []).filter((x) => x.id !== id));

  const setStatus = async (c: Comment, i: number, to: 'approve' | 'unpublish') => {
    setBusy(c.id);
    try {
      const r = await api.post<Comment>(`/comments/${c.id}/${to}`);
      const leaves = status !== '' && r.status !== status;
      if (leaves) { drop(c.id); focusAfter(i); } else replace(r);
      announce(`Comment by ${who(c)} on “${c.item_title}” ${to === 'approve' ? 'approved: it shows on the site' : 'unpublished: it waits for review again'}.`);
    } catch (e) {
      announce(`Comment not ${to === 'approve' ? 'approved' : 'unpublished'}: ${(e as api.ApiError).message}`, 'error');
    } finally { setBusy(''); }
  };

  const remove = async (c: Comment, i: number) => {
    if (!confirm(`Delete the comment by ${who(c)} on “${c.item_title}”, with its replies?`)) return;
    setBusy(c.id);
    try {
      await api.del(`/comments/${c.id}`);
      drop(c.id);
      focusAfter(i);
      announce(`Comment by ${who(c)} deleted.`);
    } catch (e) {
      announce(`Comment not deleted: ${(e as api.ApiError).message}`, 'error');
    } finally { setBusy(''); }
  };

  const startEdit = (c: Comment) => {
    setEditing(c.id);
    setText(c.body);
    setEditError('');
    setTimeout(() => document.getElementById('comment-edit-' + c.id)?.focus());
  };
  const stopEdit = (id: string) => {
    setEditing(null);
    setTimeout(() => document.querySelector<HTMLElement>(`[data-id="${id}"] .edit`)?.focus());
  };
  const saveEdit = async (c: Comment, e: Event) => {
    e.preventDefault();
    setBusy(c.id);
    try {
      const r = await api.patch<Comment>(`/comments/${c.id}`, { body: text });
      replace(r);
      stopEdit(c.id);
      announce(`Comment by ${who(c)} saved.`);
    } catch (x) {
      const err = x as api.ApiError;
      const msg = err.fields.find((f) => f.path === 'body')?.message || err.message;
      setEditError(msg);
      announce(`Comment not saved: ${msg}`, 'error');
      setTimeout(() => document.getElementById('comment-edit-' + c.id)?.focus());
    } finally { setBusy(''); }
  };

  const heading = status === 'pending' ? 'Comments waiting for review' : status === 'published' ? 'Published comments' : 'All comments';
  return (
    <section class="comments">
      <div class="screen-head"><h1>{heading}</h1></div>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <div class="field"><label for="c-status">Show</label>
          <select id="c-status" value={status} onChange={(e) => filter((e.target as HTMLSelectElement).value)}>
            {STATUSES.map(([v, l]) => <option value={v}>{l}</option>)}
          </select></div>
        {item && (
          <p class="filter-note">Comments on one item{rows && rows[0] ? `: “${rows[0].item_title}”` : ''}.{' '}
            <button type="button" class="link" onClick={() => filter(status, '')}>Show every item's comments</button></p>
        )}
      </form>
      {error && <p class="error" role="alert">{error}</p>}
      {rows === null && <p role="status">Loading…</p>}
      {rows && rows.length === 0 && !error && <p>{status === 'pending' ? 'No comment is waiting for review.' : 'No comments.'}</p>}
      {rows && rows.length > 0 && (
        <ol class="comment-list" ref={listRef} aria-label={heading}>
          {rows.map((c, i) => (
            <li class="comment" data-id={c.id} aria-labelledby={'c-h-' + c.id}>
              <h2 class="comment-head" id={'c-h-' + c.id}>
                <span>{who(c)}</span>{c.anonymous && <span class="muted"> (no account{c.author_email ? ', ' + c.author_email : ''})</span>}
                <span class="muted"> on </span><a {...linkProps('/content/' + c.item_id)}>{c.item_title || c.item_id}</a>
              </h2>
              <p class="comment-meta muted">
                <span class={'badge ' + (c.status === 'published' ? 'published' : 'unpublished')}>{c.status === 'published' ? 'published' : 'waiting for review'}</span>{' '}
                {fmtDate(c.created_at)}{c.client_addr ? ` · from ${c.client_addr}` : ''}{c.parent_id ? ' · a reply' : ''}{' · '}
                <button type="button" class="link" onClick={() => filter(status, c.item_id)}>this item's comments<span class="visually-hidden"> ({c.item_title})</span></button>
              </p>
              {editing === c.id ? (
                <form class="comment-edit" onSubmit={(e) => saveEdit(c, e)} noValidate>
                  <div class={'field' + (editError ? ' has-error' : '')}>
                    <label for={'comment-edit-' + c.id}>Comment text</label>
                    <textarea id={'comment-edit-' + c.id} rows={5} value={text} aria-invalid={editError ? 'true' : undefined}
                      aria-describedby={editError ? 'comment-edit-err' : undefined}
                      onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
                      onKeyDown={(e) => { if (e.key === 'Escape') { e.preventDefault(); stopEdit(c.id); } }} />
                    {editError && <p class="field-errors" id="comment-edit-err">{editError}</p>}
                  </div>
                  <div class="actions">
                    <button type="submit" class="primary" disabled={busy === c.id}>Save comment</button>
                    <button type="button" onClick={() => stopEdit(c.id)}>Cancel</button>
                  </div>
                </form>
              ) : (
                <p class="comment-body">{c.body}</p>
              )}
              {editing !== c.id && (
                <div class="comment-actions actions">
                  {c.status === 'pending'
                    ? <button type="button" class="primary approve" disabled={busy === c.id} onClick={() => setStatus(c, i, 'approve')}>Approve<span class="visually-hidden"> the comment by {who(c)}</span></button>
                    : <button type="button" class="unpublish" disabled={busy === c.id} onClick={() => setStatus(c, i, 'unpublish')}>Unpublish<span class="visually-hidden"> the comment by {who(c)}</span></button>}
                  <button type="button" class="edit" disabled={busy === c.id} onClick={() => startEdit(c)}>Edit<span class="visually-hidden"> the comment by {who(c)}</span></button>
                  <button type="button" class="danger" disabled={busy === c.id} onClick={() => remove(c, i)}>Delete<span class="visually-hidden"> the comment by {who(c)}</span></button>
                </div>
              )}
            </li>
          ))}
        </ol>
      )}
      {next && <div class="pager"><button type="button" onClick={() => load(next)}>More comments</button></div>}
    </section>
  );
}
