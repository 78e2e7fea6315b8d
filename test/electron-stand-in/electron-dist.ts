/**
 * A stand-in for an unpacked Electron distribution, for electron-builder's
 * `-c.electronDist=<folder>` (no download, works offline). electron-builder
 * copies the folder, renames the `electron` executable, trims `locales/` to
 * `electronLanguages`, and flips the fuses in the executable: so the stand-in
 * carries Electron's fuse sentinel and a fuse wire in Electron's defaults.
 */
import fs from 'node:fs';
import path from 'node:path';

/** @electron/fuses' marker; the wire follows it: version byte, length byte, one byte per fuse. */
const FUSE_SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
/** Fuse order in wire version 1 (@electron/fuses FuseV1Options). */
export const FUSE_NAMES = [
  'runAsNode',
  'enableCookieEncryption',
  'enableNodeOptionsEnvironmentVariable',
  'enableNodeCliInspectArguments',
  'enableEmbeddedAsarIntegrityValidation',
  'onlyLoadAppFromAsar',
  'loadBrowserProcessSpecificV8Snapshot',
  'grantFileProtocolExtraPrivileges',
] as const;
/** Electron's own defaults: '1' on, '0' off. */
const DEFAULT_WIRE = '10110001';

/** Create the stand-in distribution in `dir` (an executable `electron`, `locales/`, `resources/`). */
export function makeElectronDist(dir: string): void {
  fs.mkdirSync(path.join(dir, 'locales'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'resources'), { recursive: true });
  const wire = Buffer.concat([Buffer.from(FUSE_SENTINEL), Buffer.from([1, DEFAULT_WIRE.length]), Buffer.from(DEFAULT_WIRE)]);
  const script = Buffer.concat([Buffer.from('#!/bin/sh\n# stand-in Electron: '), wire, Buffer.from('\necho "stand-in Electron"\n')]);
  fs.writeFileSync(path.join(dir, 'electron'), script, { mode: 0o755 });
  for (const locale of ['en-US', 'de', 'fr']) fs.writeFileSync(path.join(dir, 'locales', `${locale}.pak`), locale);
  fs.writeFileSync(path.join(dir, 'LICENSE'), 'stand-in');
}

/** The fuses in an executable: name → true (on), false (off) or 'removed'. */
export function readFuses(executable: string): Record<string, boolean | 'removed'> {
  const bin = fs.readFileSync(executable);
  const at = bin.indexOf(FUSE_SENTINEL);
  if (at < 0) throw new Error(`no fuse wire in ${executable}`);
  const start = at + FUSE_SENTINEL.length;
  const length = bin[start + 1] ?? 0;
  const fuses: Record<string, boolean | 'removed'> = {};
  for (let i = 0; i < length; i++) {
    const b = String.fromCharCode(bin[start + 2 + i] ?? 0);
    fuses[FUSE_NAMES[i] ?? `fuse${i}`] = b === 'r' ? 'removed' : b === '1';
  }
  return fuses;
}
