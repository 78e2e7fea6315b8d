/**
 * The preload: one narrow, typed bridge (`window.mactella`), nothing else.
 * It runs sandboxed, so it may only import `electron` and code bundled in.
 * The renderer never sees `ipcRenderer`; it can only invoke the contract's
 * operations (main validates them again) and subscribe to its events.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import type { EventName } from '../shared/contract.js';
import { DESKTOP_CHANNELS, type DesktopBridge } from '../shared/desktop.js';
import { EventListeners } from '../shared/event-listeners.js';

const listeners = new EventListeners();

ipcRenderer.on(DESKTOP_CHANNELS.event, (_event, name: EventName, payload: unknown) => {
  listeners.emit(name, payload as never);
});

const bridge: DesktopBridge<File> = {
  invoke: (op, args) => ipcRenderer.invoke(DESKTOP_CHANNELS.invoke, op, args),
  on: (event, listener) => listeners.add(event, listener),
  pathForFile: (file) => webUtils.getPathForFile(file),
  showInFolder: (id) => ipcRenderer.invoke(DESKTOP_CHANNELS.showInFolder, { id }),
  openFile: (id) => ipcRenderer.invoke(DESKTOP_CHANNELS.openFile, { id }),
  ready: () => ipcRenderer.send(DESKTOP_CHANNELS.ready),
};

contextBridge.exposeInMainWorld('mactella', bridge);
