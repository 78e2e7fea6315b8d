import type { ImportProgress } from '../../../shared/types.js';
import type { Host } from './host.js';
import { createWsApi } from './ws-client.js';

/** Where the web host put the token: the page URL's `?token=`. */
export function tokenFromLocation(loc: Pick<Location, 'search'>): string {
  return new URLSearchParams(loc.search).get('token') ?? '';
}

function upload(file: File, token: string, onProgress: (p: ImportProgress) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const q = new URLSearchParams({ name: file.name, token });
    xhr.open('POST', `/upload?${q.toString()}`);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
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

/** The host in a browser tab served by `mactella serve`: WebSocket for the contract, HTTP for media and uploads. */
export function createWebHost(loc: Pick<Location, 'search' | 'host' | 'protocol'>): Host {
  const token = tokenFromLocation(loc);
  const wsScheme = loc.protocol === 'https:' ? 'wss' : 'ws';
  const api = createWsApi({
    connect: () => new WebSocket(`${wsScheme}://${loc.host}/ws?token=${encodeURIComponent(token)}`),
  });
  return {
    api,
    mediaUrl: (name) => `/media/${encodeURIComponent(name)}?token=${encodeURIComponent(token)}`,
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
