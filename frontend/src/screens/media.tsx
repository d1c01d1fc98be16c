// The media library: every stored file (GET /api/v1/files), newest first,
// searchable by name and type; uploads from here land in the library and
// can then be picked into any file or image field (MediaPicker).
import { useEffect, useRef, useState } from 'preact/hooks';
import * as api from '../api';
import { announce } from '../announce';
import { fmtBytes, fmtDate } from '../util';

const PAGE = 24;

export const TYPE_FILTERS: [string, string][] = [['', 'Any type'], ['image/', 'Images'], ['application/pdf', 'PDF'], ['text/', 'Text'], ['audio/', 'Audio'], ['video/', 'Video']];

/** fileSrc is where the site serves a file (its url, else /files/{hash}/{name}). */
export function fileSrc(f: api.FileInfo): string {
  return f.url || (f.hash && f.name ? `/files/${f.hash}/${encodeURIComponent(f.name)}` : '');
}

/** useFiles reads one page of the library for a filter. */
function useFiles(name: string, type: string, reload: number) {
  const [cursors, setCursors] = useState<string[]>(['']);
  const [page, setPage] = useState(0);
  const [rows, setRows] = useState<api.FileInfo[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState('');
  useEffect(() => { setCursors(['']); setPage(0); }, [name, type, reload]);
  useEffect(() => {
    let gone = false;
    setRows(null);
    api.get('/files', { name: name || undefined, type: type || undefined, limit: PAGE, cursor: cursors[page] || undefined }).then((d) => {
      if (gone) return;
      setRows(api.listOf<api.FileInfo>(d)); setNext(api.nextCursor(d)); setTotal(d?.total ?? 0); setError('');
    }, (e: api.ApiError) => { if (!gone) { setRows([]); setError(e.status === 403 ? 'You may not use the media library.' : e.message); } });
    return () => { gone = true; };
  }, [name, type, page, cursors, reload]);
  const more = () => { if (next) { setCursors([...cursors.slice(0, page + 1), next]); setPage(page + 1); } };
  return { rows, total, error, page, next, more, back: () => setPage(Math.max(0, page - 1)) };
}

/** upload sends one file to the library. */
export async function uploadFile(file: File, maxSize?: number, label = 'This field'): Promise<api.FileInfo> {
  if (maxSize && file.size > maxSize) {
    throw new api.ApiError(413, 'too_large', `${file.name} is ${fmtBytes(file.size)}; ${label} takes at most ${fmtBytes(maxSize)}.`);
  }
  const fd = new FormData();
  fd.append('file', file, file.name);
  const f = await api.post<any>('/files', fd);
  return f.file || f;
}

function Filters({ id, name, setName, type, setType, fixedType }: { id: string; name: string; setName: (s: string) => void; type: string; setType: (s: string) => void; fixedType?: boolean }) {
  const [q, setQ] = useState(name);
  return (
    <form class="filters" role="search" aria-label="Find files" onSubmit={(e) => { e.preventDefault(); setName(q.trim()); }}>
      <div class="field"><label for={id + '-q'}>File name</label>
        <input id={id + '-q'} type="search" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} /></div>
      {!fixedType && (
        <div class="field"><label for={id + '-type'}>Type</label>
          <select id={id + '-type'} value={type} onChange={(e) => setType((e.target as HTMLSelectElement).value)}>
            {TYPE_FILTERS.map(([v, l]) => <option value={v}>{l}</option>)}
          </select></div>
      )}
      <button type="submit">Find</button>
    </form>
  );
}

function Pager({ f }: { f: ReturnType<typeof useFiles> }) {
  return (
    <nav class="pager" aria-label="Pages of files">
      <button type="button" disabled={f.page === 0} onClick={f.back}>Previous page</button>
      <span>Page {f.page + 1}</span>
      <button type="button" disabled={!f.next} onClick={f.more}>Next page</button>
    </nav>
  );
}

export function MediaLibrary() {
  const [name, setName] = useState('');
  const [type, setType] = useState('');
  const [reload, setReload] = useState(0);
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<string[]>([]);
  const f = useFiles(name, type, reload);

  const upload = async (list: FileList) => {
    setBusy(true);
    const failed: string[] = [];
    let ok = 0;
    for (const file of Array.from(list)) {
      try { await uploadFile(file); ok++; } catch (e) { failed.push(`${file.name}: ${(e as api.ApiError).message}`); }
    }
    setBusy(false);
    setErrors(failed);
    if (failed.length) announce(`${ok} uploaded; not uploaded: ${failed.join('; ')}`, 'error');
    else announce(`${ok} file${ok === 1 ? '' : 's'} uploaded to the library.`);
    setReload((n) => n + 1);
  };

  return (
    <section class="media">
      <h1>Media library</h1>
      <div class="upload-box">
        <label for="media-upload" class="upload">Upload files</label>
        <p class="help" id="media-upload-help">Images, PDF, text, audio, video and zip files. A file whose content is not what its name says is refused.</p>
        <input id="media-upload" type="file" multiple disabled={busy} aria-describedby={'media-upload-help' + (errors.length ? ' media-upload-err' : '')}
          aria-invalid={errors.length ? 'true' : undefined}
          onChange={(e) => { const l = (e.target as HTMLInputElement).files; if (l && l.length) upload(l); (e.target as HTMLInputElement).value = ''; }} />
        {busy && <span role="status">Uploading…</span>}
        {errors.length > 0 && <ul class="field-errors" id="media-upload-err">{errors.map((m) => <li>{m}</li>)}</ul>}
      </div>
      <Filters id="media" name={name} setName={setName} type={type} setType={setType} />
      {f.error && <p class="error" role="alert">{f.error}</p>}
      <p class="result-count" aria-live="polite">{f.rows === null ? 'Loading…' : `${f.total} file${f.total === 1 ? '' : 's'}`}</p>
      {f.rows && f.rows.length > 0 && (
        <ul class="media-grid">
          {f.rows.map((x) => (
            <li class="media-card">
              {x.mime?.startsWith('image/') ? <img src={fileSrc(x)} alt="" class="thumb" loading="lazy" /> : <span class="file-icon" aria-hidden="true">{(x.mime || '').split('/')[1] || 'file'}</span>}
              <a href={fileSrc(x)} target="_blank" rel="noopener" class="media-name">{x.name}<span class="visually-hidden"> (opens a new tab)</span></a>
              <span class="muted">{x.mime} · {fmtBytes(x.size)}</span>
              <span class="muted">{fmtDate((x as any).created_at)}</span>
            </li>
          ))}
        </ul>
      )}
      {f.rows && f.rows.length === 0 && !f.error && <p>No files{name || type ? ' match' : ' yet'}.</p>}
      <Pager f={f} />
    </section>
  );
}

/** MediaPicker is a modal dialog listing the library (images only for
 * image fields); choosing a file calls onPick and closes it. */
export function MediaPicker({ title, imagesOnly, onPick, onClose }: { title: string; imagesOnly: boolean; onPick: (f: api.FileInfo) => void; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [name, setName] = useState('');
  const [type, setType] = useState(imagesOnly ? 'image/' : '');
  const f = useFiles(name, type, 0);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => { if (d?.open) d.close(); };
  }, []);
  return (
    <dialog ref={ref} class="media-picker" aria-labelledby="picker-h" onClose={onClose} onCancel={onClose}>
      <div class="screen-head">
        <h2 id="picker-h">{title}</h2>
        <button type="button" onClick={onClose}>Close</button>
      </div>
      <Filters id="picker" name={name} setName={setName} type={type} setType={setType} fixedType={imagesOnly} />
      {f.error && <p class="error" role="alert">{f.error}</p>}
      {f.rows === null && <p role="status">Loading…</p>}
      {f.rows && f.rows.length === 0 && !f.error && <p>No files match.</p>}
      {f.rows && f.rows.length > 0 && (
        <ul class="media-grid">
          {f.rows.map((x) => (
            <li class="media-card">
              {x.mime?.startsWith('image/') ? <img src={fileSrc(x)} alt="" class="thumb" /> : <span class="file-icon" aria-hidden="true">{(x.mime || '').split('/')[1] || 'file'}</span>}
              <button type="button" class="small pick" onClick={() => onPick(x)}>Use {x.name}</button>
              <span class="muted">{fmtBytes(x.size)}</span>
            </li>
          ))}
        </ul>
      )}
      <Pager f={f} />
    </dialog>
  );
}
