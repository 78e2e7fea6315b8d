/**
 * `mactella serve`: the peer without a window, with the React UI served to a
 * browser. A thin adapter: the browser reaches the peer only through the
 * contract's operation table, over one WebSocket.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatAddress } from './peer/address.js';
import { consoleLogger, type Logger } from './peer/logger.js';
import { createOperations } from './peer/operations.js';
import { PEER_CLI_HELP, parsePeerArgs } from './peer/options.js';
import { Peer } from './peer/peer.js';
import { loadPeerOptions } from './peer/settings-store.js';
import { lockFolders } from './web-host/folder-lock.js';
import { newToken } from './web-host/guard.js';
import { startWebHost, type WebHost } from './web-host/server.js';
import { DEFAULT_MAX_UPLOAD } from './web-host/upload.js';

export const SERVE_HELP = `Usage: mactella serve [peer options] [--ui-port N] [--ui-host ADDR] [--allow-folder-changes]

Runs the peer headless and serves the MacTella UI to a browser. Open the
printed address (it carries the access token).

Web UI options:
  --ui-port N         web UI port (default 7878; 0 = any free port)
  --ui-host ADDR      web UI address (default 127.0.0.1; other addresses expose the UI to the network)
  --max-upload MB     largest file a browser may upload (default ${DEFAULT_MAX_UPLOAD / 1024 ** 2})
  --allow-folder-changes
                      let the browser change the shared and download folders
                      (otherwise only --share and --downloads set them)
  --verbose           print the peer's log lines

${PEER_CLI_HELP}`;

const SERVE_OPTIONS = {
  'ui-port': { type: 'string' },
  'ui-host': { type: 'string' },
  'max-upload': { type: 'string' },
  'allow-folder-changes': { type: 'boolean' },
  verbose: { type: 'boolean' },
} as const;

export const DEFAULT_UI_PORT = 7878;

/** The built renderer: `MACTELLA_WEB_ROOT`, else dist-web/ at the project root. */
export function webRoot(): string {
  return process.env.MACTELLA_WEB_ROOT ?? fileURLToPath(new URL('../dist-web/', import.meta.url));
}

function uiPort(text: string | undefined): number {
  if (text === undefined) return DEFAULT_UI_PORT;
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new Error(`bad --ui-port "${text}": expected 0 to 65535`);
  return Number(text);
}

function maxUpload(text: string | undefined): number {
  if (text === undefined) return DEFAULT_MAX_UPLOAD;
  if (!/^\d{1,7}$/.test(text) || Number(text) < 1) throw new Error(`bad --max-upload "${text}": expected a size in MB, 1 or more`);
  return Number(text) * 1024 ** 2;
}

/** Warnings and errors always; the peer's info lines with --verbose. */
function serveLogger(verbose: boolean): Logger {
  const c = consoleLogger();
  return { info: verbose ? c.info : () => {}, warn: c.warn, error: c.error };
}

/** Entry point of `mactella serve` (called by electron/cli.ts). Resolves once the peer has stopped. */
export async function runServe(argv: string[]): Promise<void> {
  let parsed;
  let ui: { port: number; host: string; maxUpload: number };
  try {
    parsed = parsePeerArgs(argv, SERVE_OPTIONS);
    ui = {
      port: uiPort(parsed.values['ui-port'] as string | undefined),
      host: (parsed.values['ui-host'] as string | undefined) ?? '127.0.0.1',
      maxUpload: maxUpload(parsed.values['max-upload'] as string | undefined),
    };
    if (parsed.positionals.length) throw new Error(`unexpected argument "${parsed.positionals[0]}"`);
  } catch (e) {
    console.error(`mactella serve: ${(e as Error).message}\n\n${SERVE_HELP}`);
    process.exitCode = 2;
    return;
  }
  if (parsed.help) {
    console.log(SERVE_HELP);
    return;
  }
  const root = webRoot();
  if (!fs.existsSync(path.join(root, 'index.html'))) {
    console.error(`mactella serve: the web UI is not built (no ${path.join(root, 'index.html')}). Run: npm run build:web`);
    process.exitCode = 1;
    return;
  }

  const log = serveLogger(Boolean(parsed.values.verbose));
  let peer: Peer;
  try {
    peer = await Peer.start(await loadPeerOptions(parsed.options), { logger: log });
  } catch (e) {
    console.error(`mactella serve: ${(e as Error).message}`);
    process.exitCode = 1;
    return;
  }
  let web: WebHost;
  try {
    web = await startWebHost({
      peer,
      operations: lockFolders(createOperations(peer), { allowFolderChanges: Boolean(parsed.values['allow-folder-changes']) }),
      webRoot: root,
      host: ui.host,
      port: ui.port,
      token: newToken(),
      log,
      maxUploadBytes: ui.maxUpload,
      streams: peer.streams,
    });
  } catch (e) {
    console.error(`mactella serve: cannot start the web UI on ${ui.host}:${ui.port}: ${(e as Error).message}`);
    await peer.quit({ force: true });
    process.exitCode = 1;
    return;
  }
  console.log(`listening on ${formatAddress(peer.address())}`);
  console.log(`peer id: ${peer.id}`);
  console.log(`MacTella UI: ${web.url}`);

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) {
        // A second Ctrl+C is FORCEQUIT: partial downloads are kept for resuming.
        console.log('stopping now; unfinished downloads keep their partial data');
        await peer.quit({ force: true });
        return resolve();
      }
      stopping = true;
      const running = peer.activeTransfers();
      if (running.length > 0) {
        console.log(
          `${signal}: waiting for ${running.length} transfer(s): ${running.map((t) => t.name).join(', ')} (Ctrl+C again to stop now)`,
        );
      }
      await web.close();
      await peer.quit();
      resolve();
    };
    const onSignal = (signal: NodeJS.Signals) =>
      void stop(signal).catch((e: unknown) => console.error(`mactella serve: ${(e as Error).message}`));
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
