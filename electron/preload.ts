/**
 * The preload: one narrow, typed bridge (`window.mactella`), nothing else.
 * It runs sandboxed, so it may only import `electron` and code bundled in.
 * The renderer never sees `ipcRenderer`; it can only invoke the contract's
 * operations (main validates them again) and subscribe to its events.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import type { EventName } from '../shared/contract.js';
import { DESKTOP_CHANNELS, type DesktopBridge } from '../shared/desktop.js';

const listeners = new Map<EventName, Set<(payload: never) => void>>();

ipcRenderer.on(DESKTOP_CHANNELS.event, (_event, name: EventName, payload: unknown) => {
  listeners.get(name)?.forEach((l) => l(payload as never));
});

const bridge: DesktopBridge<File> = {
  invoke: (op, args) => ipcRenderer.invoke(DESKTOP_CHANNELS.invoke, op, args),
  on(event, listener) {
    let set = listeners.get(event);
    if (!set) listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => {
      set.delete(listener as (payload: never) => void);
    };
  },
  pathForFile: (file) => webUtils.getPathForFile(file),
  showInFolder: (id) => ipcRenderer.invoke(DESKTOP_CHANNELS.showInFolder, { id }),
  ready: () => ipcRenderer.send(DESKTOP_CHANNELS.ready),
};

contextBridge.exposeInMainWorld('mactella', bridge);
