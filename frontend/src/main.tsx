import { render } from 'preact';
import { App } from './app';
import './style.css';
import { preloadCM } from './widgets/markdown';

if (/^\/admin\/content\/(new\/|[0-9a-f-]{36}$)/.test(location.pathname)) preloadCM();

render(<App />, document.getElementById('app')!);
