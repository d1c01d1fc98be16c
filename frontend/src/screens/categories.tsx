import { useEffect, useState } from 'preact/hooks';
import * as api from '../api';
import { announce } from '../announce';
import { linkProps } from '../router';
import { stageParam, useApp } from '../state';
import { forgetTerms, treeOrder } from '../widgets/fields';

export function Categories({ vocab }: { vocab?: string }) {
  const app = useApp();
  const [vocabs, setVocabs] = useState<{ name: string; label?: string }[]>([]);
  const [terms, setTerms] = useState<api.Term[] | null>(null);
  const [error, setError] = useState('');
  const [name, setName] = useState('');
  const [parent, setParent] = useState('');

  useEffect(() => {
    api.all('/vocabularies').then((d) => setVocabs(d.map((x) => api.configBody(x))), () => setVocabs([]));
  }, []);
  const load = () => {
    if (!vocab) return;
    api.all('/terms', { vocabulary: vocab, stage: stageParam(app.stage) })
      .then((d) => setTerms(d.map((x) => api.staged<api.Term>(x))), (e: api.ApiError) => { setTerms([]); setError(e.message); });
  };
  useEffect(load, [vocab, app.stage]);

  const add = async (e: Event) => {
    e.preventDefault();
    try {
      await api.post('/terms', { doc: { vocabulary: vocab, name, parents: parent ? [parent] : [], weight: 0 }, log: '' }, { stage: stageParam(app.stage) });
      announce(`Category “${name}” added.`);
      setName(''); forgetTerms(); load();
    } catch (x) { announce(`Not added: ${(x as api.ApiError).message}`, 'error'); }
  };

  return (
    <section>
      <h1>Categories{vocab ? `: ${vocabs.find((v) => v.name === vocab)?.label || vocab}` : ''}</h1>
      <nav aria-label="Vocabularies"><ul class="tabs">
        {vocabs.map((v) => <li><a {...linkProps('/categories/' + v.name)} aria-current={v.name === vocab ? 'page' : undefined}>{v.label || v.name}</a></li>)}
      </ul></nav>
      {!vocab && <p>Choose a vocabulary.</p>}
      {error && <p class="error" role="alert">{error}</p>}
      {vocab && terms && (
        <>
          <ul class="tree">
            {treeOrder(terms).map(([t, d]) => <li style={{ marginInlineStart: `${d * 1.5}rem` }}>{t.name}</li>)}
          </ul>
          <form class="inline-form" onSubmit={add}>
            <h2>Add a category</h2>
            <div class="field"><label for="term-name">Name</label><input id="term-name" type="text" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} /></div>
            <div class="field"><label for="term-parent">Parent</label>
              <select id="term-parent" value={parent} onChange={(e) => setParent((e.target as HTMLSelectElement).value)}>
                <option value="">(top level)</option>
                {treeOrder(terms).map(([t, d]) => <option value={t.id}>{'\u2003'.repeat(d)}{t.name}</option>)}
              </select></div>
            <button type="submit" disabled={!name}>Add</button>
          </form>
        </>
      )}
    </section>
  );
}
