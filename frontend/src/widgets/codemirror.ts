// CodeMirror 6 for Markdown, in its own chunk (loaded by markdown.tsx).
import { EditorState } from '@codemirror/state';
import { EditorView, keymap, drawSelection, highlightActiveLine, placeholder } from '@codemirror/view';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { parser, GFM } from '@lezer/markdown';
import { Language, LanguageSupport, defineLanguageFacet, syntaxHighlighting, defaultHighlightStyle } from '@codemirror/language';

// Markdown without @codemirror/lang-markdown, which brings HTML, CSS and
// JavaScript modes along for embedded code (300 kB more).
const markdownLanguage = new Language(
  defineLanguageFacet({ commentTokens: { block: { open: '<!--', close: '-->' } } }),
  parser.configure(GFM), [], 'markdown');
const markdown = () => new LanguageSupport(markdownLanguage);

export interface MountOptions {
  doc: string;
  onChange: (v: string) => void;
  attrs: Record<string, string>;
}

export function mount(parent: HTMLElement, o: MountOptions) {
  let silent = false; // set() from outside is not reported back
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: o.doc,
      extensions: [
        history(),
        drawSelection(),
        highlightActiveLine(),
        EditorView.lineWrapping,
        markdown(),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        // Tab indents only after Escape is not pressed: CodeMirror lets
        // Escape then Tab leave the editor, so keyboard users are not trapped.
        keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
        placeholder('Write in Markdown…'),
        EditorView.contentAttributes.of({ ...o.attrs, 'aria-multiline': 'true', role: 'textbox', tabindex: '0' }),
        EditorView.updateListener.of((u) => {
          if (u.docChanged && !silent) o.onChange(u.state.doc.toString());
        }),
      ],
    }),
  });
  return {
    get: () => view.state.doc.toString(),
    set: (v: string) => {
      silent = true;
      try { view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: v } }); } finally { silent = false; }
    },
    destroy: () => view.destroy(),
  };
}
