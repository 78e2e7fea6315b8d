import path from 'node:path';
import type { ReachSettings, Settings } from '../../shared/types.js';
import { readJson, writeFileAtomic } from './fs-util.js';
import { formatPeerSpec, parsePeerSpec } from './identity/peer-id.js';
import { defaultPeerOptions, type CliPeerOptions, type PeerOptions } from './options.js';
import { REACH_OFF, reachFromSaved } from './reach/reach-options.js';

export function settingsFile(dataDir: string): string {
  return path.join(dataDir, 'settings.json');
}

/**
 * Defaults < saved settings.json < command-line options. Reach switches merge
 * one by one over `reachBase` (all off; the desktop app passes its own).
 */
export async function loadPeerOptions(cli: CliPeerOptions, reachBase: ReachSettings = REACH_OFF): Promise<PeerOptions> {
  const base = defaultPeerOptions(cli.dataDir);
  const saved = (await readJson<Partial<Settings>>(settingsFile(cli.dataDir))) ?? {};
  const fromSaved: Partial<PeerOptions> = {};
  if (typeof saved.sharedDir === 'string') fromSaved.sharedDir = saved.sharedDir;
  if (typeof saved.downloadDir === 'string') fromSaved.downloadDir = saved.downloadDir;
  if (Number.isInteger(saved.port)) fromSaved.port = saved.port;
  if (typeof saved.host === 'string' && saved.host) fromSaved.host = saved.host;
  if (Array.isArray(saved.bootstrap)) {
    fromSaved.bootstrap = saved.bootstrap.flatMap((s) => {
      try {
        return [parsePeerSpec(String(s))];
      } catch {
        return [];
      }
    });
  }
  for (const k of ['neighbourCap', 'uploadSlots', 'maxUploadRate', 'maxDownloadRate'] as const) {
    if (Number.isInteger(saved[k]) && (saved[k] as number) >= 0) fromSaved[k] = saved[k] as number;
  }
  const { reach: reachFlags, ...given } = cli;
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  const reach = { ...reachFromSaved(saved.reach, reachBase), ...reachFlags };
  return { ...base, ...fromSaved, ...defined, reach };
}

export function optionsToSettings(o: PeerOptions): Settings {
  return {
    sharedDir: o.sharedDir,
    downloadDir: o.downloadDir,
    port: o.port,
    host: o.host,
    bootstrap: o.bootstrap.map(formatPeerSpec),
    neighbourCap: o.neighbourCap,
    uploadSlots: o.uploadSlots,
    maxUploadRate: o.maxUploadRate,
    maxDownloadRate: o.maxDownloadRate,
    reach: o.reach,
  };
}

/** The options after a settings change from a front end (folders made absolute). */
export function mergeSettingsPatch(
  opts: PeerOptions,
  patch: Partial<Settings>,
  parseBootstrap: (s: string) => PeerOptions['bootstrap'][number],
): PeerOptions {
  const next = { ...opts };
  if (patch.bootstrap) next.bootstrap = patch.bootstrap.map(parseBootstrap);
  if (patch.sharedDir !== undefined) next.sharedDir = path.resolve(patch.sharedDir);
  if (patch.downloadDir !== undefined) next.downloadDir = path.resolve(patch.downloadDir);
  for (const k of ['port', 'neighbourCap', 'uploadSlots', 'maxUploadRate', 'maxDownloadRate'] as const)
    if (patch[k] !== undefined) next[k] = patch[k]!;
  if (patch.host !== undefined) next.host = patch.host;
  if (patch.reach !== undefined) next.reach = reachFromSaved(patch.reach, opts.reach);
  return next;
}

export async function saveSettings(dataDir: string, s: Settings): Promise<void> {
  await writeFileAtomic(settingsFile(dataDir), JSON.stringify(s, null, 2));
}
