import { useStore } from 'zustand';
import { detectHost } from '../host/detect.js';
import { createAppStore } from './store.js';
import type { AppState } from './types.js';

/** The app's one store, talking to whichever host this window has (Electron or the web host). */
export const appStore = createAppStore(detectHost());

/** React hook over the store: `useApp((s) => s.files)`. */
export function useApp<T>(selector: (s: AppState) => T): T {
  return useStore(appStore, selector);
}

export type { AppState } from './types.js';
