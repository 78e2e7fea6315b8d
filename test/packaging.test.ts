/**
 * The desktop package holds only what the app runs. Packs `electron-builder
 * --linux dir` offline, with a stand-in Electron distribution, and checks
 * what app.asar holds and what it must not, and that the fuses are flipped.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDesktop, runNode } from './electron-stand-in/desktop.js';
import { makeElectronDist, readFuses } from './electron-stand-in/electron-dist.js';

const ROOT = path.resolve(__dirname, '..');
const ELECTRON_BUILDER = path.join(ROOT, 'node_modules', 'electron-builder', 'cli.js');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

interface AsarEntry {
  files?: Record<string, AsarEntry>;
  size?: number;
}

/** Every file path in an asar archive (its header is a JSON tree after a 16-byte pickle prefix). */
function asarFiles(file: string): string[] {
  const fd = fs.openSync(file, 'r');
  try {
    const prefix = Buffer.alloc(16);
    fs.readSync(fd, prefix, 0, 16, 0);
    const json = Buffer.alloc(prefix.readUInt32LE(12));
    fs.readSync(fd, json, 0, json.length, 16);
    const out: string[] = [];
    const walk = (node: AsarEntry, at: string) => {
      if (!node.files) return void out.push(at);
      for (const [name, child] of Object.entries(node.files)) walk(child, at ? `${at}/${name}` : name);
    };
    walk(JSON.parse(json.toString('utf8')) as AsarEntry, '');
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

/** Top-level packages in the archive's node_modules (`@scope/name` for scoped ones). */
function packagesIn(files: string[]): Set<string> {
  const names = new Set<string>();
  for (const f of files) {
    const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f);
    if (m?.[1]) names.add(m[1]);
  }
  return names;
}

let work: string;
let appDir: string;
let files: string[];

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mactella-pack-'));
  // A copy of the project's packaging inputs beside the real node_modules, so packing never touches the tree's out/ or dist/.
  for (const f of ['package.json', 'electron-builder.yml']) fs.copyFileSync(path.join(ROOT, f), path.join(work, f));
  fs.cpSync(path.join(ROOT, 'build'), path.join(work, 'build'), { recursive: true });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(work, 'node_modules'), 'dir');
  await buildDesktop(path.join(work, 'out'));
  // The terminal peer's bundle lives in out/ too, but is not part of the app.
  fs.writeFileSync(path.join(work, 'out', 'cli.mjs'), '// the mactella command\n');
  makeElectronDist(path.join(work, 'electron-dist'));
  await runNode(
    [
      ELECTRON_BUILDER,
      '--linux',
      'dir',
      '--projectDir',
      work,
      `-c.electronDist=${path.join(work, 'electron-dist')}`,
      `-c.directories.output=${path.join(work, 'dist')}`,
      // No native modules to rebuild, and a rebuild would try to download Node headers.
      '-c.npmRebuild=false',
    ],
    { cwd: work, timeoutMs: 150_000 },
  );
  appDir = path.join(work, 'dist', 'linux-unpacked');
  files = asarFiles(path.join(appDir, 'resources', 'app.asar'));
}, 180_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('desktop package (electron-builder --linux dir, stand-in Electron)', () => {
  it('holds the built app and the runtime dependencies', () => {
    const size = fs.statSync(path.join(appDir, 'resources', 'app.asar')).size;
    console.log(`app.asar: ${(size / 1e6).toFixed(1)} MB, ${files.length} files`);
    for (const f of ['package.json', 'out/main/index.js', 'out/preload/index.cjs', 'out/renderer/index.html']) expect(files).toContain(f);
    const packages = packagesIn(files);
    for (const dep of Object.keys(pkg.dependencies)) expect(packages, `dependency ${dep}`).toContain(dep);
    for (const dep of [
      'chokidar',
      'ws',
      'zod',
      '@peculiar/x509',
      'reflect-metadata',
      'bonjour-service',
      '@achingbrain/nat-port-mapper',
      '@achingbrain/ssdp',
      'xml2js',
      'bittorrent-dht',
    ])
      expect(packages, `runtime dependency ${dep}`).toContain(dep);
    // Every package the main bundle imports at run time is in the archive.
    const main = fs.readFileSync(path.join(work, 'out', 'main', 'index.js'), 'utf8');
    const statics = [...main.matchAll(/^import\s(?:[^;]*?\sfrom\s)?["']([^"']+)["']/gm)].map((m) => m[1] ?? '');
    const dynamics = [...main.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1] ?? '');
    expect(statics).toContain('electron');
    const imported = [...statics, ...dynamics]
      .filter((s) => !s.startsWith('.'))
      .filter((s) => !s.startsWith('node:') && s !== 'electron')
      .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]));
    for (const name of imported) expect(packages, `imported by out/main: ${name}`).toContain(name);
  });

  it('leaves out the renderer libraries Vite bundled, build tools, sources, tests and the CLI bundle', () => {
    const packages = packagesIn(files);
    for (const dev of ['lucide-react', 'react', 'react-dom', 'zustand', 'scheduler', 'tsx', 'esbuild', 'cli-progress', 'electron', 'vite'])
      expect(packages, `must not hold ${dev}`).not.toContain(dev);
    expect([...packages].filter((p) => p.startsWith('@tanstack/') || p.startsWith('@esbuild/') || p.startsWith('@types/'))).toEqual([]);
    const outside = files.filter((f) => !f.startsWith('node_modules/') && !f.startsWith('out/') && f !== 'package.json');
    expect(outside).toEqual([]);
    expect(files.filter((f) => /^(test|bench|electron|renderer|shared)\//.test(f) || f.endsWith('.map'))).toEqual([]);
    expect(files).not.toContain('out/cli.mjs');
    expect(fs.existsSync(path.join(appDir, 'resources', 'app.asar.unpacked'))).toBe(false);
    // electronLanguages keeps only en-US.
    expect(fs.readdirSync(path.join(appDir, 'locales'))).toEqual(['en-US.pak']);
  });

  it('flips the Electron fuses: no run-as-node, no NODE_OPTIONS or --inspect, app only from a checked asar', () => {
    expect(readFuses(path.join(appDir, 'mactella-desktop'))).toMatchObject({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
    });
  });
});
