import type { ConnectionState } from '../host/host.js';
import type { SliceFactory } from './types.js';

export const VIEWS = ['library', 'peers', 'search', 'transfers', 'settings'] as const;
export type ViewName = (typeof VIEWS)[number];

export interface Notice {
  id: number;
  kind: 'error' | 'info';
  text: string;
}

/** Notices kept at once; older ones give way. */
const MAX_NOTICES = 4;

export interface UiSlice {
  view: ViewName;
  connection: ConnectionState;
  notices: Notice[];
  /** True where finished downloads can be shown in the file manager (the desktop app). */
  canShowInFolder: boolean;
  setView(view: ViewName): void;
  setConnection(state: ConnectionState): void;
  notify(kind: Notice['kind'], text: string): void;
  dismissNotice(id: number): void;
}

let noticeId = 0;

export const createUiSlice: SliceFactory<UiSlice> = (host) => (set) => ({
  view: 'library',
  connection: 'connecting',
  notices: [],
  canShowInFolder: host.showInFolder !== undefined,
  setView: (view) => set({ view }),
  setConnection: (connection) => set({ connection }),
  notify: (kind, text) =>
    set((s) => {
      // The same sentence twice in a row is one notice.
      if (s.notices.some((n) => n.text === text)) return s;
      return { notices: [...s.notices, { id: ++noticeId, kind, text }].slice(-MAX_NOTICES) };
    }),
  dismissNotice: (id) => set((s) => ({ notices: s.notices.filter((n) => n.id !== id) })),
});
