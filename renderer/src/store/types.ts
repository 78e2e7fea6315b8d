import type { StateCreator } from 'zustand';
import type { Host } from '../host/host.js';
import type { LibrarySlice } from './library-slice.js';
import type { PeersSlice } from './peers-slice.js';
import type { PlayerSlice } from './player-slice.js';
import type { SearchSlice } from './search-slice.js';
import type { SettingsSlice } from './settings-slice.js';
import type { TransfersSlice } from './transfers-slice.js';
import type { UiSlice } from './ui-slice.js';

/** The whole store: one zustand store made of slices, each with its actions next to its state. */
export type AppState = UiSlice & LibrarySlice & PeersSlice & SearchSlice & TransfersSlice & SettingsSlice & PlayerSlice;

/** A slice factory: gets the host (for the API) and returns zustand's slice creator. */
export type SliceFactory<T> = (host: Host) => StateCreator<AppState, [], [], T>;
