import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import * as api from './api';
import { AppContext, AppState, LIVE, stageLabel, useApp } from './state';
import { linkProps, match, navigate, useRoute } from './router';
import { announce, Message, onAnnounce } from './announce';
import { SignIn } from './screens/signin';
import { ContentList } from './screens/content';
import { ItemEditor } from './screens/editor';
import { MediaLibrary } from './screens/media';

// The content list and the item editor are in the first chunk (an editor's
// first screens); every other screen is its own chunk, fetched on first use,
// so a cold load parses less script.
const Revisions = lazyScreen(() => import('./screens/revisions'), 'Revisions');
const StagesList = lazyScreen(() => import('./screens/stages'), 'StagesList');
const StageReview = lazyScreen(() => import('./screens/stages'), 'StageReview');
const Releases = lazyScreen(() => import('./screens/releases'), 'Releases');
const Menus = lazyScreen(() => import('./screens/menus'), 'Menus');
const Categories = lazyScreen(() => import('./screens/categories'), 'Categories');
const Users = lazyScreen(() => import('./screens/admin'), 'Users');
const Permissions = lazyScreen(() => import('./screens/admin'), 'Permissions');
const Tokens = lazyScreen(() => import('./screens/admin'), 'Tokens');
const AuditLog = lazyScreen(() => import('./screens/admin'), 'AuditLog');
const Plugins = lazyScreen(() => import('./screens/admin'), 'Plugins');
const Aliases = lazyScreen(() => import('./screens/aliases'), 'Aliases');
const Comments = lazyScreen(() => import('./screens/comments'), 'Comments');
const Sync = lazyScreen(() => import('./screens/sync'), 'Sync');
const TypesList = lazyScreen(() => import('./screens/types'), 'TypesList');
const TypeEditor = lazyScreen(() => import('./screens/types'), 'TypeEditor');
const GathersList = lazyScreen(() => import('./screens/gathers'), 'GathersList');
const GatherEditor = lazyScreen(() => import('./screens/gathers'), 'GatherEditor');
const TilesList = lazyScreen(() => import('./screens/gathers'), 'TilesList');
const TileEditor = lazyScreen(() => import('./screens/gathers'), 'TileEditor');

/** lazyScreen is a screen component loaded from its own chunk on first use. */
function lazyScreen<P extends Record<string, any> = Record<string, any>>(load: () => Promise<Record<string, any>>, name: string) {
  let C: ((p: P) => any) | null = null;
  let loading: Promise<void> | null = null;
  return function Lazy(props: P) {
    const [, setReady] = useState(C !== null);
    const [failed, setFailed] = useState(false);
    useEffect(() => {
      if (C) return;
      let live = true;
      (loading ||= load().then((m) => { C = m[name]; })).then(
        () => { if (live) setReady(true); },
        () => { loading = null; if (live) setFailed(true); });
      return () => { live = false; };
    }, []);
    if (C) return <C {...props} />;
    if (failed) return <section><h1>Not loaded</h1><p class="error" role="alert">This screen could not be loaded. Check the connection, then reload the page.</p></section>;
    return <p class="boot" role="status">Loading…</p>;
  };
}

const STAGE_KEY = 'trovato.stage';

export function App() {
  const [user, setUser] = useState<api.User | null>(null);
  const [ready, setReady] = useState(false);
  const [stages, setStages] = useState<api.Stage[]>([]);
  const [stage, setStageName] = useState<string>(() => localStorage.getItem(STAGE_KEY) || LIVE);
  const [types, setTypes] = useState<api.ItemType[]>([]);

  const [previewID, setPreviewID] = useState<string | null>(null);
  const acceptSession = (s: any) => {
    api.setCSRF(s && s.csrf_token);
    setUser(api.isSignedIn(s) ? s.user : null);
    // The session's preview stage is where the site shows this user; the
    // editor follows it (mapped to a name once the stages are read).
    setPreviewID(s && s.preview_stage_id ? s.preview_stage_id : null);
    if (!(s && s.preview_stage_id)) { setStageName(LIVE); localStorage.setItem(STAGE_KEY, LIVE); }
  };

  useEffect(() => {
    api.handleUnauthorized(() => setUser(null));
    api.get('/session').then(acceptSession, () => setUser(null)).finally(() => setReady(true));
  }, []);

  const reloadStages = useCallback(async () => {
    try {
      const data = await api.get('/stages');
      const list = api.listOf<api.Stage>(data, 'stages').filter((s) => s.name !== LIVE && (!s.state || s.state === 'open'));
      setStages(list);
      // A stage that is no longer open is not a place to edit.
      setStageName((cur) => {
        if (cur === LIVE || list.some((s) => s.name === cur)) return cur;
        localStorage.setItem(STAGE_KEY, LIVE);
        return LIVE;
      });
    } catch {
      setStages([]);
    }
  }, []);

  const readTypes = async (fresh: boolean) => {
    try {
      setTypes(await api.loadTypes(fresh));
    } catch {
      setTypes([]);
    }
  };
  const reloadTypes = useCallback(() => readTypes(true), []);

  useEffect(() => {
    if (!user) return;
    reloadStages();
    readTypes(false);
  }, [user]);

  useEffect(() => {
    if (!previewID) return;
    const s = stages.find((x) => x.id === previewID);
    if (s) { setStageName(s.name); localStorage.setItem(STAGE_KEY, s.name); }
  }, [previewID, stages]);

  const setStage = useCallback(async (name: string, opts: { quiet?: boolean } = {}) => {
    setStageName(name);
    localStorage.setItem(STAGE_KEY, name);
    try {
      await api.put('/session/preview', { stage: name === LIVE ? null : name });
    } catch {
      // The preview follows the session where the API supports it; editing
      // in the stage works without it.
    }
    if (!opts.quiet) announce(`Now editing and previewing: ${name === LIVE ? 'Live' : name}.`, 'info');
  }, []);

  const signOut = useCallback(async () => {
    await api.signOut();
    api.setCSRF('');
    setUser(null);
    navigate('/', { force: true });
  }, []);

  const state: AppState = { user, stages, stage, types, setStage, reloadStages, reloadTypes, signOut };

  if (!ready) return <p class="boot" role="status">Loading the editor…</p>;
  if (!user) {
    return (
      <AppContext.Provider value={state}>
        <SignIn onSignedIn={acceptSession} />
        <Announcer />
      </AppContext.Provider>
    );
  }
  return (
    <AppContext.Provider value={state}>
      <Shell />
    </AppContext.Provider>
  );
}

// Six sections keep the header on one line from 1024 px up; Structure
// holds types, gathers, tiles, menus, categories and aliases (its tabs),
// Stages holds the releases.
const NAV: [string, string][] = [
  ['/content', 'Content'],
  ['/media', 'Media'],
  ['/comments', 'Comments'],
  ['/stages', 'Stages'],
  ['/types', 'Structure'],
  ['/users', 'Admin'],
];

function Shell() {
  const { path } = useRoute();
  const app = useApp();
  const mainRef = useRef<HTMLElement>(null);
  const first = useRef(true);
  useEffect(() => {
    // Move focus to the new screen's heading (not on the first load).
    if (first.current) { first.current = false; return; }
    // A screen from its own chunk shows its heading once the chunk is in.
    let tries = 40;
    let t: number | undefined;
    const focus = () => {
      const h = mainRef.current?.querySelector('h1');
      if (h) { (h as HTMLElement).tabIndex = -1; (h as HTMLElement).focus(); }
      else if (tries-- > 0) t = window.setTimeout(focus, 50);
    };
    focus();
    return () => clearTimeout(t);
  }, [path]);

  let screen;
  let m;
  if (path === '/' || path === '/content') screen = <ContentList />;
  else if ((m = match('/content/new/:type', path))) screen = <ItemEditor key={'new-' + m.type} newType={m.type} />;
  else if ((m = match('/content/:id/revisions', path))) screen = <Revisions key={m.id} id={m.id} />;
  else if ((m = match('/content/:id', path))) screen = <ItemEditor key={m.id} id={m.id} />;
  else if (path === '/stages') screen = <StagesList />;
  else if ((m = match('/stages/:name', path))) screen = <StageReview key={m.name} name={m.name} />;
  else if (path === '/releases') screen = <Releases />;
  else if (path === '/menus') screen = <Menus />;
  else if ((m = match('/menus/:menu', path))) screen = <Menus key={m.menu} menu={m.menu} />;
  else if (path === '/categories') screen = <Categories />;
  else if ((m = match('/categories/:vocab', path))) screen = <Categories key={m.vocab} vocab={m.vocab} />;
  else if (path === '/media') screen = <MediaLibrary />;
  else if (path === '/comments') screen = <Comments />;
  else if (path === '/aliases') screen = <Aliases />;
  else if (path === '/types') screen = <TypesList />;
  else if (path === '/types/new') screen = <TypeEditor key="new" />;
  else if ((m = match('/types/:name', path))) screen = <TypeEditor key={m.name} name={m.name} />;
  else if (path === '/gathers') screen = <GathersList />;
  else if (path === '/gathers/new') screen = <GatherEditor key="new" />;
  else if ((m = match('/gathers/:name', path))) screen = <GatherEditor key={m.name} name={m.name} />;
  else if (path === '/tiles') screen = <TilesList />;
  else if (path === '/tiles/new') screen = <TileEditor key="new" />;
  else if ((m = match('/tiles/:name', path))) screen = <TileEditor key={m.name} name={m.name} />;
  else if (path === '/users') screen = <Users />;
  else if (path === '/permissions') screen = <Permissions />;
  else if (path === '/tokens') screen = <Tokens />;
  else if (path === '/audit') screen = <AuditLog />;
  else if (path === '/plugins') screen = <Plugins />;
  else if (path === '/sync') screen = <Sync />;
  else screen = <NotFound />;

  let section = '/' + (path.split('/')[1] || 'content');
  if (['/permissions', '/tokens', '/audit', '/plugins'].includes(section)) section = '/users';
  if (['/gathers', '/tiles', '/menus', '/categories', '/aliases'].includes(section)) section = '/types';
  if (section === '/releases') section = '/stages';
  return (
    <div class="shell">
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <a class="brand" {...linkProps('/content')}>Trovato</a>
        <nav aria-label="Editor sections">
          <ul>
            {NAV.map(([to, label]) => (
              <li><a {...linkProps(to)} aria-current={section === to ? 'page' : undefined}>{label}</a></li>
            ))}
          </ul>
        </nav>
        <StageSwitcher />
        <div class="who">
          <a {...linkProps('/sync')} aria-current={section === '/sync' ? 'page' : undefined}>Sync</a>
          <span class="user-name">{app.user?.name}</span>
          <button type="button" class="link" title={`Signed in as ${app.user?.name}`} onClick={() => app.signOut()}>Sign out<span class="visually-hidden"> {app.user?.name}</span></button>
        </div>
      </header>
      <main id="main" ref={mainRef}>{screen}</main>
      <Announcer />
    </div>
  );
}

function StageSwitcher() {
  const app = useApp();
  const live = app.stage === LIVE;
  return (
    <div class={'stage-switch' + (live ? '' : ' staged')}>
      <label for="stage-select">Stage</label>
      <select id="stage-select" value={app.stage} onChange={(e) => app.setStage((e.target as HTMLSelectElement).value)}>
        <option value={LIVE}>Live</option>
        {app.stages.map((s) => <option value={s.name}>{s.label || s.name}</option>)}
        {!live && !app.stages.some((s) => s.name === app.stage) && <option value={app.stage}>{app.stage}</option>}
      </select>
      <a class="button small" href="/" target="_blank" rel="noopener" title={`Opens the site as ${stageLabel(app.stages, app.stage)} shows it`}>
        Preview<span class="visually-hidden"> site in {stageLabel(app.stages, app.stage)} (opens a new tab)</span>
      </a>
      {!live && <a class="button small" {...linkProps('/stages/' + encodeURIComponent(app.stage))}>Review<span class="visually-hidden"> &amp; publish</span></a>}
    </div>
  );
}

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p><a {...linkProps('/content')}>Go to the content list</a></p>
    </section>
  );
}

/** Announcer shows results as a toast and reads them out through live regions. */
export function Announcer() {
  const [msg, setMsg] = useState<Message | null>(null);
  useEffect(() => onAnnounce((m) => {
    setMsg(m);
  }), []);
  useEffect(() => {
    if (!msg || msg.kind === 'error') return;
    const t = setTimeout(() => setMsg((cur) => (cur === msg ? null : cur)), 6000);
    return () => clearTimeout(t);
  }, [msg]);
  return (
    <>
      <div class="visually-hidden" role="status" aria-live="polite" aria-atomic="true" id="live-polite">
        {msg && msg.kind !== 'error' ? msg.text : ''}
      </div>
      <div class="visually-hidden" role="alert" aria-live="assertive" aria-atomic="true" id="live-assertive">
        {msg && msg.kind === 'error' ? msg.text : ''}
      </div>
      {msg && (
        <div class={'toast ' + msg.kind} aria-hidden="true">
          <span>{msg.text}</span>
          <button type="button" class="link" tabIndex={-1} onClick={() => setMsg(null)}>Dismiss</button>
        </div>
      )}
    </>
  );
}
