// Shared launch of Debian's Chromium for the site checks: one headless
// browser, no network beyond loopback.
import { chromium } from 'playwright-core';

export const chromiumPath = process.env.TROVATO_CHROMIUM || '/usr/bin/chromium';

export async function launch() {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    timeout: 60_000,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

// isLoopback reports whether a request URL stays on this machine (or is
// a data:/blob:/about: URL that makes no request at all).
export function isLoopback(u) {
  let url;
  try {
    url = new URL(u);
  } catch {
    return false;
  }
  if (url.protocol === 'data:' || url.protocol === 'blob:' || url.protocol === 'about:') return true;
  if (url.protocol !== 'http:' && url.protocol !== 'https:' && url.protocol !== 'ws:') return false;
  const h = url.hostname;
  return h === '127.0.0.1' || h === 'localhost' || h === '[::1]' || h === '::1';
}

// blockRemote aborts every request that would leave the machine and
// counts them.
export async function blockRemote(context, aborted) {
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (isLoopback(u)) return route.continue();
    aborted.push(u.slice(0, 200));
    return route.abort('blockedbyclient');
  });
}

export function readArgs() {
  const file = process.argv[2];
  if (!file) {
    console.error(`usage: node ${process.argv[1]} INPUT.json`);
    process.exit(2);
  }
  return file;
}
