import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { chromiumPath, isStale, RENDERER_INPUTS, ROOT } from './support/paths.js';

/**
 * Before any e2e test: build the web renderer that `mactella serve` serves,
 * when dist-web/ is missing or older than its sources, and check that a
 * Chromium is there to drive.
 */
export default function globalSetup(): void {
  if (!chromiumPath()) {
    throw new Error('No Chromium found for the e2e tests. Install it (apt-get install -y chromium) or set CHROMIUM_PATH.');
  }
  if (isStale(path.join(ROOT, 'dist-web', 'index.html'), RENDERER_INPUTS)) {
    console.log('e2e: building the web renderer (vite.web.config.ts → dist-web/)');
    execFileSync(
      process.execPath,
      [path.join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'vite.web.config.ts', '--logLevel', 'warn'],
      {
        cwd: ROOT,
        stdio: 'inherit',
        timeout: 180_000,
      },
    );
  }
}
