#!/usr/bin/env node
// The one test command (`npm test`): Vitest (unit + integration on loopback
// sockets), then Playwright end-to-end in Chromium. Ends with one line,
// "N passed, N failed, N skipped", and exits non-zero if anything failed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mactella-results-'));
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const totals = { passed: 0, failed: 0, skipped: 0 };
let broken = false;

function run(args, env = {}) {
  const r = spawnSync(npx, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  return r.status ?? 1;
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

// 1. Vitest
const vitestJson = path.join(tmp, 'vitest.json');
const vitestStatus = run(['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${vitestJson}`]);
const v = readJson(vitestJson);
if (v) {
  totals.passed += v.numPassedTests ?? 0;
  totals.failed += v.numFailedTests ?? 0;
  totals.skipped += (v.numPendingTests ?? 0) + (v.numTodoTests ?? 0);
  // A suite that failed to load counts as a failure even with no failed test.
  if (vitestStatus !== 0 && (v.numFailedTests ?? 0) === 0) {
    totals.failed += Math.max(1, v.numFailedTestSuites ?? 0);
  }
} else {
  broken = true;
  console.error('vitest produced no results');
}

// 2. Playwright (end-to-end), when configured
if (fs.existsSync(path.join(root, 'playwright.config.ts')) && !process.argv.includes('--unit-only')) {
  const pwJson = path.join(tmp, 'playwright.json');
  const pwStatus = run(['playwright', 'test', '--reporter=list,json'], { PLAYWRIGHT_JSON_OUTPUT_NAME: pwJson });
  const p = readJson(pwJson);
  if (p?.stats) {
    totals.passed += (p.stats.expected ?? 0) + (p.stats.flaky ?? 0);
    totals.failed += p.stats.unexpected ?? 0;
    totals.skipped += p.stats.skipped ?? 0;
    if (pwStatus !== 0 && (p.stats.unexpected ?? 0) === 0) totals.failed += 1;
    // Say why each skipped test was skipped (e.g. no Electron binary on this machine).
    const reasons = new Map();
    const walk = (suite) => {
      for (const s of suite.suites ?? []) walk(s);
      for (const spec of suite.specs ?? [])
        for (const t of spec.tests ?? [])
          if (t.status === 'skipped' || t.results?.every((r) => r.status === 'skipped')) {
            const why = t.annotations?.find((a) => a.type === 'skip')?.description ?? 'no reason given';
            reasons.set(why, [...(reasons.get(why) ?? []), spec.title]);
          }
    };
    for (const s of p.suites ?? []) walk(s);
    for (const [why, titles] of reasons) console.log(`skipped ${titles.length} e2e test(s): ${why}`);
  } else {
    broken = true;
    console.error('playwright produced no results');
  }
}

fs.rmSync(tmp, { recursive: true, force: true });
if (broken) totals.failed += 1;
console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(totals.failed > 0 || totals.passed === 0 ? 1 : 0);
