// Live regions: polite for results, assertive for failures. Screen readers
// read what is written into them; the toast shows the same text.
const listeners = new Set<(m: Message) => void>();
export interface Message { text: string; kind: 'ok' | 'error' | 'info'; at: number }

export function announce(text: string, kind: Message['kind'] = 'ok') {
  const m = { text, kind, at: Date.now() };
  listeners.forEach((f) => f(m));
}
export function onAnnounce(f: (m: Message) => void) {
  listeners.add(f);
  return () => { listeners.delete(f); };
}
