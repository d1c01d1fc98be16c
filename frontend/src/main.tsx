import { render } from 'preact';
import { App } from './app';
import './style.css';
import { preloadCM } from './widgets/markdown';
import * as api from './api';
import { LIVE } from './state';

// A cold load of an item editor asks for the session, the item, the item
// types and CodeMirror at once, beside the app's own code, instead of one
// after the other once the app runs (api.get takes these answers).
api.prefetch('/session');
const item = /^\/admin\/content\/(new\/|([0-9a-f-]{36})$)/.exec(location.pathname);
if (item) {
  preloadCM();
  api.prefetch('/types', { limit: 200 });
  const stage = localStorage.getItem('trovato.stage');
  if (item[2]) api.prefetch('/items/' + item[2], { stage: stage && stage !== LIVE ? stage : undefined });
}

render(<App />, document.getElementById('app')!);
