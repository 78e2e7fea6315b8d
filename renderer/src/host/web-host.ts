import type { ImportProgress } from '../../../shared/types.js';
import { WS_PROTOCOL, WS_TOKEN_PREFIX } from '../../../shared/web-protocol.js';
import type { Host } from './host.js';
import { createWsApi, type SocketLike } from './ws-client.js';

/** Where this tab keeps the token: sessionStorage is per origin (so per port) and per tab, unlike a cookie. */
const TOKEN_KEY = 'mactella.token';

/** The parts of `window` the token handling uses (so tests can pass a fake). */
export interface TokenWindow {
  location: Pick<Location, 'hash' | 'search' | 'pathname'>;
  history: Pick<History, 'replaceState'>;
  sessionStorage: Pick<Storage, 'getItem' | 'setItem'>;
}

/**
 * The access token: from the address `mactella serve` printed (`#token=`, or
 * the older `?token=`), then kept in this tab's sessionStorage and removed
 * from the address bar, so it is not bookmarked, shared or shown; after a
 * reload, from sessionStorage. Never a cookie: other servers on the same host
 * would receive it.
 */
export function takeToken(win: TokenWindow): string {
  const hash = new URLSearchParams(win.location.hash.replace(/^#/, ''));
  const query = new URLSearchParams(win.location.search);
  const inHash = hash.get('token');
  const fromUrl = inHash ?? query.get('token');
  if (fromUrl === null) return win.sessionStorage.getItem(TOKEN_KEY) ?? '';
  try {
    win.sessionStorage.setItem(TOKEN_KEY, fromUrl);
  } catch {
    // Storage off: the token still works until the page is reloaded.
  }
  query.delete('token');
  const rest = query.toString();
  // A view in the fragment (`#search`) stays; a fragment that held the token goes.
  const keptHash = inHash === null ? win.location.hash : '';
  win.history.replaceState(null, '', `${win.location.pathname}${rest ? `?${rest}` : ''}${keptHash}`);
  return fromUrl;
}

function upload(file: File, token: string, onProgress: (p: ImportProgress) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const q = new URLSearchParams({ name: file.name });
    xhr.open('POST', `/upload?${q.toString()}`);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.upload.onprogress = (e) => onProgress({ name: file.name, bytes: e.loaded, total: file.size, done: false });
    xhr.onload = () => {
      let body: { name?: string; error?: string } = {};
      try {
        body = JSON.parse(xhr.responseText) as typeof body;
      } catch {
        // fall through to the status check
      }
      if (xhr.status === 200 && body.name) {
        onProgress({ name: file.name, bytes: file.size, total: file.size, done: true });
        resolve(body.name);
      } else {
        const error = body.error ?? `upload failed (HTTP ${xhr.status})`;
        onProgress({ name: file.name, bytes: 0, total: file.size, done: true, error });
        reject(new Error(`Could not share ${file.name}: ${error}`));
      }
    };
    xhr.onerror = () => {
      onProgress({ name: file.name, bytes: 0, total: file.size, done: true, error: 'connection lost' });
      reject(new Error(`Could not share ${file.name}: the connection was lost.`));
    };
    xhr.send(file);
  });
}

/**
 * The host in a browser tab served by `mactella serve`: WebSocket for the
 * contract (token in the subprotocol), HTTP for uploads (token in a header)
 * and media (token in the URL, since `<img>` and `<video>` send no headers).
 */
export function createWebHost(
  loc: Pick<Location, 'host' | 'protocol'>,
  token: string,
  openSocket: (url: string, protocols: string[]) => SocketLike = (url, protocols) => new WebSocket(url, protocols),
): Host {
  const wsScheme = loc.protocol === 'https:' ? 'wss' : 'ws';
  const api = createWsApi({
    connect: () => openSocket(`${wsScheme}://${loc.host}/ws`, [WS_PROTOCOL, `${WS_TOKEN_PREFIX}${token}`]),
  });
  return {
    api,
    mediaUrl: (name) => `/media/${encodeURIComponent(name)}?token=${encodeURIComponent(token)}`,
    streamUrl: (id) => `/stream/${encodeURIComponent(id)}?token=${encodeURIComponent(token)}`,
    async importFiles(files, onProgress) {
      const names: string[] = [];
      // One at a time: a browser upload already saturates the link.
      for (const f of files) names.push(await upload(f, token, onProgress));
      return names;
    },
    ready: () => {},
    onConnectionChange: (l) => api.onConnectionChange(l),
  };
}
