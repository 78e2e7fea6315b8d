#!/usr/bin/env node
// The terminal peer as one built file, out/cli.mjs, so `mactella` needs no
// TypeScript runtime (tsx) once installed. `node bin/cli-bundle.mjs` builds it
// (`npm run build:cli`, also run by `prepare` after `npm install`).
//
// The bundle sits one folder below the root, as electron/cli.ts does, so
// paths the sources resolve from import.meta.url (serve's ../dist-web/) hold.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The built terminal peer. */
export const CLI_BUNDLE = path.join(root, 'out', 'cli.mjs');
const ENTRY = path.join(root, 'electron', 'cli.ts');
const SOURCE_DIRS = ['electron', 'shared'].map((d) => path.join(root, d));

function newestSourceMtime() {
  let newest = fs.statSync(path.join(root, 'package.json')).mtimeMs;
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
  };
  for (const d of SOURCE_DIRS) if (fs.existsSync(d)) walk(d);
  return newest;
}

/** True when the bundle is missing or older than a source file (only checked in a source checkout). */
export function cliBundleStale() {
  if (!fs.existsSync(CLI_BUNDLE)) return true;
  if (!fs.existsSync(ENTRY)) return false;
  return fs.statSync(CLI_BUNDLE).mtimeMs < newestSourceMtime();
}

/**
 * Bundle electron/cli.ts with esbuild. The packages in `dependencies` stay
 * imports (they are installed beside the app); everything else, such as
 * cli-progress, is bundled in. Written to a temporary name, then renamed, so
 * several processes building at once never run a half-written file.
 */
export async function buildCli() {
  const esbuild = await import('esbuild');
  const sourcesAsOf = newestSourceMtime();
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const result = await esbuild.build({
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    outfile: CLI_BUNDLE,
    external: Object.keys(pkg.dependencies ?? {}),
    logLevel: 'silent',
    legalComments: 'none',
    // Bundled CommonJS packages call require() for Node's built-ins.
    banner: { js: "import { createRequire as __mactellaRequire } from 'node:module'; const require = __mactellaRequire(import.meta.url);" },
  });
  fs.mkdirSync(path.dirname(CLI_BUNDLE), { recursive: true });
  const tmp = `${CLI_BUNDLE}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(tmp, result.outputFiles[0].contents);
  // Dated as the newest source it was built from: a file saved during the build still counts as newer.
  fs.utimesSync(tmp, new Date(), (Math.floor(sourcesAsOf) + 1) / 1000);
  fs.renameSync(tmp, CLI_BUNDLE);
  return CLI_BUNDLE;
}

/**
 * The bundle to run: rebuilt first when a source is newer and esbuild is
 * installed (a development checkout; a build error there is an error), used
 * as it is where esbuild is not installed.
 */
export async function ensureCliBundle() {
  if (!cliBundleStale()) return CLI_BUNDLE;
  try {
    await import('esbuild');
  } catch {
    if (fs.existsSync(CLI_BUNDLE)) return CLI_BUNDLE;
    throw new Error('out/cli.mjs is missing and esbuild is not installed to build it; run `npm install`, then `npm run build:cli`');
  }
  return buildCli();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await buildCli();
  console.log(`built ${path.relative(root, CLI_BUNDLE)}`);
}
