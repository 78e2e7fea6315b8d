import type { OperationArgs } from '../../../shared/contract.js';
import type { Settings } from '../../../shared/types.js';
import { humanError } from '../lib/errors.js';
import type { SliceFactory } from './types.js';

export interface SettingsSlice {
  settings: Settings | null;
  savingSettings: boolean;
  loadSettings(): Promise<void>;
  /** Save a change; resolves to an error sentence, or null when saved. */
  saveSettings(patch: OperationArgs<'settings:set'>): Promise<string | null>;
}

export const createSettingsSlice: SliceFactory<SettingsSlice> = (host) => (set, get) => ({
  settings: null,
  savingSettings: false,
  async loadSettings() {
    try {
      set({ settings: await host.api.invoke('settings:get', {}) });
    } catch (err) {
      get().notify('error', humanError(err, 'load the settings'));
    }
  },
  async saveSettings(patch) {
    set({ savingSettings: true });
    try {
      set({ settings: await host.api.invoke('settings:set', patch) });
      return null;
    } catch (err) {
      return humanError(err, 'save the settings');
    } finally {
      set({ savingSettings: false });
    }
  },
});
