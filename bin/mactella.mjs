#!/usr/bin/env node
// The `mactella` command. Runs the built terminal peer (out/cli.mjs); in a
// source checkout it first rebuilds that bundle when a source file is newer,
// so the command always runs the code in the tree.
import { pathToFileURL } from 'node:url';
import { ensureCliBundle } from './cli-bundle.mjs';

let bundle;
try {
  bundle = await ensureCliBundle();
} catch (e) {
  console.error(`mactella: ${e.message}`);
  process.exit(1);
}
const { main } = await import(pathToFileURL(bundle).href);
await main(process.argv.slice(2));
