import type { DesktopBridge } from '../../../shared/desktop.js';
import { createElectronHost } from './electron-host.js';
import type { Host } from './host.js';
import { createWebHost, takeToken } from './web-host.js';

declare global {
  interface Window {
    /** Present only inside the Electron window (see electron/preload.ts). */
    mactella?: DesktopBridge<File>;
  }
}

/** Electron when the preload bridge is there, otherwise the web host that served this page. */
export function detectHost(): Host {
  return window.mactella ? createElectronHost(window.mactella) : createWebHost(window.location, takeToken(window));
}
