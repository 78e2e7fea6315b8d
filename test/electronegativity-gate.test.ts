import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const gate = (...args: string[]) =>
  spawnSync(process.execPath, [path.join(root, 'scripts/electronegativity-check.mjs'), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });

describe('electronegativity gate', () => {
  it('fails on an app with unsafe webPreferences', () => {
    const r = gate('--input', path.join(root, 'test/fixtures/insecure-electron'));
    expect(r.stdout).toMatch(/FAIL +MEDIUM +SANDBOX_JS_CHECK/);
    expect(r.stdout).toMatch(/FAIL +HIGH +CONTEXT_ISOLATION_JS_CHECK/);
    expect(r.status).toBe(1);
  }, 150_000);

  it('passes on MacTella with nothing blocking', () => {
    const r = gate();
    expect(r.stdout).toMatch(/0 blocking/);
    expect(r.status).toBe(0);
  }, 150_000);
});
