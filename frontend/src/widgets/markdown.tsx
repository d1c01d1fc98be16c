import { useEffect, useRef, useState } from 'preact/hooks';

// CodeMirror is loaded on first use, so the list screens stay small.
type CM = typeof import('./codemirror');
let cmPromise: Promise<CM> | null = null;
const loadCM = () => (cmPromise ||= import('./codemirror'));
/** preloadCM starts loading CodeMirror now (a cold load of an item editor
 * fetches it beside the app instead of after the item). */
export const preloadCM = () => { loadCM().catch(() => { cmPromise = null; }); };

interface Props {
  id: string;
  value: string;
  onChange: (v: string) => void;
  describedBy?: string;
  invalid?: boolean;
  labelId: string;
}

/** MarkdownEditor is a CodeMirror 6 editor with Markdown highlighting. A
 * plain textarea stands in while CodeMirror loads (and if it cannot). The
 * editor owns its text once mounted: to replace it from outside (a
 * restored draft), remount it with a new key. */
export function MarkdownEditor({ id, value, onChange, describedBy, invalid, labelId }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<{ set: (v: string) => void; destroy: () => void; get: () => string } | null>(null);
  const [loaded, setLoaded] = useState(false);
  const change = useRef(onChange);
  change.current = onChange;


  useEffect(() => {
    let gone = false;
    loadCM().then((cm) => {
      if (gone || !host.current) return;
      view.current = cm.mount(host.current, {
        doc: value,
        onChange: (v) => change.current(v),
        attrs: {
          id,
          'aria-labelledby': labelId,
          ...(describedBy ? { 'aria-describedby': describedBy } : {}),
          ...(invalid ? { 'aria-invalid': 'true' } : {}),
        },
      });
      setLoaded(true);
    }, () => { /* keep the textarea */ });
    return () => { gone = true; view.current?.destroy(); view.current = null; };
  }, []);


  return (
    <div class={'markdown-editor' + (invalid ? ' invalid' : '')}>
      <div ref={host} class="cm-host" />
      {!loaded && (
        <textarea id={id} aria-labelledby={labelId} aria-describedby={describedBy} aria-invalid={invalid ? 'true' : undefined}
          rows={12} value={value} onInput={(e) => onChange((e.target as HTMLTextAreaElement).value)} />
      )}
    </div>
  );
}
