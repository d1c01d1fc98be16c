export function fmtDate(s?: string | null): string {
  if (!s) return '';
  const d = new Date(s);
  if (isNaN(d.getTime())) return s;
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function fmtBytes(n?: number): string {
  if (n === undefined || n === null) return '';
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KiB';
  return (n / 1024 / 1024).toFixed(1) + ' MiB';
}

export function fieldLabel(name: string, label?: string): string {
  if (label) return label;
  const s = name.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

let n = 0;
export const uid = (p = 'id') => `${p}-${++n}`;

export function debounce<A extends unknown[]>(f: (...a: A) => void, ms: number) {
  let t: number | undefined;
  const d = (...a: A) => { clearTimeout(t); t = window.setTimeout(() => f(...a), ms); };
  d.cancel = () => clearTimeout(t);
  return d;
}

/** show renders any value for a diff cell. */
export function show(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  return JSON.stringify(v, null, 2);
}
