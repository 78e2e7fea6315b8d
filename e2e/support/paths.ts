import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where the specs write their screenshots (MACTELLA_SCREENSHOTS elsewhere, for a run that must leave the committed ones alone). */
export const SCREENSHOTS = process.env.MACTELLA_SCREENSHOTS ?? path.join(ROOT, 'e2e', 'screenshots');

/** Debian's Chromium (Playwright cannot download its own here), or CHROMIUM_PATH. */
export function chromiumPath(): string | undefined {
  for (const p of [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser']) {
    if (p && fs.existsSync(p)) return p;
  }
  return undefined;
}

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Electron's binary, found without triggering its lazy download (as scripts/start.mjs does). */
export function electronBinary(): string | undefined {
  const dir = path.join(ROOT, 'node_modules', 'electron');
  const pathFile = path.join(dir, 'path.txt');
  if (!fs.existsSync(pathFile)) return undefined;
  const bin = path.join(dir, 'dist', fs.readFileSync(pathFile, 'utf8').trim());
  return fs.existsSync(bin) ? bin : undefined;
}

/** Newest modification time under `p` (a file or a folder). */
export function newestMtime(p: string): number {
  if (!fs.existsSync(p)) return 0;
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const e of fs.readdirSync(p)) newest = Math.max(newest, newestMtime(path.join(p, e)));
  return newest;
}

/** True when `output` is missing or older than any of `inputs`. */
export function isStale(output: string, inputs: string[]): boolean {
  if (!fs.existsSync(output)) return true;
  const built = fs.statSync(output).mtimeMs;
  return inputs.some((i) => newestMtime(path.join(ROOT, i)) > built);
}

/** What the renderer build depends on. */
export const RENDERER_INPUTS = ['renderer', 'shared', 'electron/csp.ts', 'vite.web.config.ts', 'package.json'];
