#!/usr/bin/env node
// `npm start`: the desktop app where Electron's binary is installed; where it
// is not (installed with ELECTRON_SKIP_BINARY_DOWNLOAD=1, as on CI), the same
// React UI served headless to the browser by `mactella serve`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const passthrough = process.argv.slice(2);

/** Where Electron's binary is, without triggering its lazy download. */
export function electronBinary() {
  const dir = path.join(root, 'node_modules', 'electron');
  const pathFile = path.join(dir, 'path.txt');
  if (!fs.existsSync(pathFile)) return undefined;
  const bin = path.join(dir, 'dist', fs.readFileSync(pathFile, 'utf8').trim());
  return fs.existsSync(bin) ? bin : undefined;
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  return r.status ?? 1;
}

let bin = electronBinary();
if (!bin && process.env.ELECTRON_SKIP_BINARY_DOWNLOAD !== '1') {
  console.log('Electron binary not installed yet: trying to download it...');
  const r = spawnSync(process.execPath, [path.join(root, 'node_modules', 'electron', 'install.js')], { cwd: root, encoding: 'utf8' });
  bin = electronBinary();
  if (!bin) console.log(`Electron download failed: ${(r.stderr || r.stdout || '').trim().split('\n')[0] || `exit ${r.status}`}`);
}

if (bin) {
  process.exit(run(npx, ['electron-vite', 'preview', ...(passthrough.length ? ['--', ...passthrough] : [])]));
}

console.log('Electron is not available on this machine: starting the headless peer with the web UI instead.');
if (run(npx, ['vite', 'build', '--config', 'vite.web.config.ts', '--logLevel', 'warn']) !== 0) process.exit(1);
process.exit(run(process.execPath, [path.join(root, 'bin', 'mactella.mjs'), 'serve', ...passthrough]));
