import type { Plugin } from 'vite';
import { MEDIA_SCHEME } from '../shared/desktop.js';

/**
 * The renderer's Content Security Policy, the same in the Electron window and
 * in the browser tab of `mactella serve`: only our own scripts and styles, no
 * inline code, media only from our own origin or the media protocol, and
 * network access only back to our own origin (the web host's WebSocket).
 */
const RENDERER_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  `img-src 'self' data: blob: ${MEDIA_SCHEME}:`,
  `media-src 'self' blob: ${MEDIA_SCHEME}:`,
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
].join('; ');

/** The CSP as an HTTP header adds what a `<meta>` cannot carry. */
export const RENDERER_CSP_HEADER = `${RENDERER_CSP}; frame-ancestors 'none'`;

/**
 * Vite plugin: put the CSP into the built index.html. Build only, because the
 * dev server injects inline scripts for hot reload.
 */
export function cspMetaPlugin(): Plugin {
  return {
    name: 'mactella-csp-meta',
    apply: 'build',
    transformIndexHtml: () => [
      { tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: RENDERER_CSP }, injectTo: 'head-prepend' },
    ],
  };
}
