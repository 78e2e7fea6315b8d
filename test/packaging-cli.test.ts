/**
 * The `mactella` command runs a built bundle (out/cli.mjs) whose only package
 * imports are runtime `dependencies`: no tsx, and cli-progress bundled in.
 */
import { builtinModules } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runNode } from './electron-stand-in/desktop.js';

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'mactella.mjs');
const BUNDLE = path.join(ROOT, 'out', 'cli.mjs');

describe('the mactella command', () => {
  it('runs the built bundle, which imports only runtime dependencies', async () => {
    const help = await runNode([BIN, '--help'], { timeoutMs: 60_000 });
    expect(help).toMatch(/^Usage:\n {2}mactella \[peer options\]/);
    expect(help).toContain('mactella serve');

    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const code = fs.readFileSync(BUNDLE, 'utf8');
    const specifiers = [
      ...[...code.matchAll(/^import\s(?:[^;]*?\sfrom\s)?["']([^"']+)["']/gm)].map((m) => m[1] ?? ''),
      ...[...code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1] ?? ''),
    ];
    const packages = specifiers
      .filter((s) => !s.startsWith('node:') && !builtinModules.includes(s))
      .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : (s.split('/')[0] ?? s)));
    expect(packages.length).toBeGreaterThan(0);
    for (const p of packages) expect(Object.keys(pkg.dependencies), `out/cli.mjs imports ${p}`).toContain(p);
    expect(code).not.toMatch(/["']tsx(\/[^"']*)?["']/);
  });

  it('rebuilds the bundle when a source is newer, so it never runs stale code', async () => {
    const { cliBundleStale } = (await import(path.join(ROOT, 'bin', 'cli-bundle.mjs'))) as { cliBundleStale(): boolean };
    await runNode([BIN, '--help'], { timeoutMs: 60_000 });
    expect(cliBundleStale()).toBe(false);
    // Pretend the bundle was built before the last source change.
    fs.utimesSync(BUNDLE, new Date(0), new Date(0));
    expect(cliBundleStale()).toBe(true);
    await runNode([BIN, '--help'], { timeoutMs: 60_000 });
    expect(cliBundleStale()).toBe(false);
    expect(fs.statSync(BUNDLE).mtimeMs).toBeGreaterThan(0);
  });
});
