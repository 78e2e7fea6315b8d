#!/usr/bin/env node
// The `mactella` command. Runs the TypeScript sources through tsx, so the
// terminal peer works straight after `npm install`, with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../electron/cli.ts');
await main(process.argv.slice(2));
