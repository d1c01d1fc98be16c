import { useState } from 'preact/hooks';
import * as api from '../api';
import { announce } from '../announce';

export function SignIn({ onSignedIn }: { onSignedIn: (s: api.Session) => void }) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const s = await api.signIn(name, password);
      announce('Signed in.');
      onSignedIn(s);
    } catch (err) {
      const e = err as api.ApiError;
      const msg = e.message;
      setError(msg);
      announce(msg, 'error');
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="signin">
      <form onSubmit={submit} aria-describedby={error ? 'signin-error' : undefined} noValidate>
        <h1>Sign in to Trovato</h1>
        {error && <p class="error" id="signin-error">{error}</p>}
        <div class="field">
          <label for="signin-name">User name</label>
          <input id="signin-name" type="text" name="username" autoComplete="username" required value={name}
            onInput={(e) => setName((e.target as HTMLInputElement).value)} autoFocus />
        </div>
        <div class="field">
          <label for="signin-password">Password</label>
          <input id="signin-password" name="password" type="password" autoComplete="current-password" required value={password}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
        </div>
        <button type="submit" class="primary" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </main>
  );
}
