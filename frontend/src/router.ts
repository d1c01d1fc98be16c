// A small history router under the /admin/ base.
import { useEffect, useState } from 'preact/hooks';

export const BASE = '/admin';

type Guard = () => boolean; // true: may leave
let guard: Guard | null = null;
/** setLeaveGuard installs the unsaved-changes check (null removes it). */
export function setLeaveGuard(g: Guard | null) { guard = g; }

const listeners = new Set<() => void>();

export function currentPath(): string {
  let p = location.pathname;
  if (p.startsWith(BASE)) p = p.slice(BASE.length);
  if (p === '') p = '/';
  return p;
}

export function navigate(to: string, opts: { replace?: boolean; force?: boolean } = {}) {
  if (!opts.force && guard && !guard()) return;
  const url = BASE + to;
  if (opts.replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  listeners.forEach((f) => f());
}

window.addEventListener('popstate', () => listeners.forEach((f) => f()));

export function useRoute(): { path: string; query: URLSearchParams } {
  const [, bump] = useState(0);
  useEffect(() => {
    const f = () => bump((n) => n + 1);
    listeners.add(f);
    return () => { listeners.delete(f); };
  }, []);
  return { path: currentPath(), query: new URLSearchParams(location.search) };
}

/** match returns the named parts of path for pattern ("/content/:id"), or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const a = pattern.split('/').filter(Boolean);
  const b = path.split('/').filter(Boolean);
  if (a.length !== b.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < a.length; i++) {
    if (a[i].startsWith(':')) out[a[i].slice(1)] = decodeURIComponent(b[i]);
    else if (a[i] !== b[i]) return null;
  }
  return out;
}

/** linkProps makes an <a> navigate inside the app (modifier clicks open normally). */
export function linkProps(to: string) {
  return {
    href: BASE + to,
    onClick: (e: MouseEvent) => {
      if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
      e.preventDefault();
      navigate(to);
    },
  };
}
