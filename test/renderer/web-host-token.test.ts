/**
 * Audit finding 1, browser side: the page takes the token from the URL
 * fragment, keeps it in this tab's sessionStorage (per origin, so per port),
 * strips it from the address bar, and sends it in a header, the WebSocket
 * subprotocol or the media URL: never in a cookie.
 */
import { describe, expect, it } from 'vitest';
import { createWebHost, takeToken, type TokenWindow } from '../../renderer/src/host/web-host.js';

function fakeWindow(url: string, stored?: string): TokenWindow & { url: string; store: Map<string, string> } {
  const store = new Map<string, string>(stored ? [['mactella.token', stored]] : []);
  const u = new URL(url);
  const w = {
    url,
    store,
    location: { hash: u.hash, search: u.search, pathname: u.pathname },
    history: {
      replaceState: (_s: unknown, _t: string, next?: string | URL | null) => {
        w.url = new URL(String(next), w.url).href;
      },
    },
    sessionStorage: { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) },
  };
  return w;
}

describe('the page and its token', () => {
  it('takes the token from the fragment, keeps it for this tab and strips it from the address bar', () => {
    const w = fakeWindow('http://127.0.0.1:7878/#token=abc-_123');
    expect(takeToken(w)).toBe('abc-_123');
    expect(w.store.get('mactella.token')).toBe('abc-_123');
    expect(w.url).toBe('http://127.0.0.1:7878/');
  });

  it('accepts the older ?token= form too, and strips it', () => {
    const w = fakeWindow('http://127.0.0.1:7878/?token=abc&x=1#search');
    expect(takeToken(w)).toBe('abc');
    expect(w.url).toBe('http://127.0.0.1:7878/?x=1#search');
  });

  it('after a reload, finds the token kept for this tab', () => {
    const w = fakeWindow('http://127.0.0.1:7878/', 'kept');
    expect(takeToken(w)).toBe('kept');
    expect(w.url).toBe('http://127.0.0.1:7878/');
  });

  it('sends the token in the WebSocket subprotocol, not the URL, and per URL for media', () => {
    const opened: { url: string; protocols: string[] }[] = [];
    const host = createWebHost({ host: '127.0.0.1:7878', protocol: 'http:' }, 'T0k', (url, protocols) => {
      opened.push({ url, protocols });
      return { readyState: 0, send() {}, close() {}, onopen: null, onclose: null, onerror: null, onmessage: null };
    });
    expect(opened).toEqual([{ url: 'ws://127.0.0.1:7878/ws', protocols: ['mactella', 'mactella.token.T0k'] }]);
    expect(host.mediaUrl('a b/c.mp3')).toBe('/media/a%20b%2Fc.mp3?token=T0k');
  });
});
