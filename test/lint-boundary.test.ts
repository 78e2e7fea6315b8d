/**
 * The architecture boundary, enforced by lint as paths: the peer imports no
 * adapter and not Electron; the renderer imports only shared/ and its own files.
 * Each rule is proven to fail on a violating snippet.
 */
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..');
const eslint = new ESLint({ cwd: root });

/** The boundary errors ESLint reports for `code` as if it were the file at `file`. */
async function boundaryErrors(code: string, file: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'boundary/imports').map((m) => m.message);
}

/** Per area: imports lint must refuse (code, as the file at path), and a file of imports it must allow. */
const AREAS: { area: string; refused: [string, string][]; allowed: { title: string; file: string; code: string[] } }[] = [
  {
    area: 'electron/peer/**',
    refused: [
      ["import { runServe } from '../serve.js';", 'electron/peer/x.ts'],
      ["import { main } from '../cli.js';", 'electron/peer/x.ts'],
      ["import { parseCommand } from '../../cli-commands.js';", 'electron/peer/v2/x.ts'],
      ["import { startWebHost } from '../web-host/server.js';", 'electron/peer/x.ts'],
      ["export * from '../ipc.js';", 'electron/peer/x.ts'],
      ["import { appProtocolHandler } from '../app-protocol.js';", 'electron/peer/x.ts'],
      ["const m = await import('../main.js');", 'electron/peer/x.ts'],
      ["import { app } from 'electron';", 'electron/peer/x.ts'],
      ["import { x } from '../../../electron/preload.js';", 'electron/peer/transfers/x.ts'],
    ],
    allowed: {
      title: 'allows its own files, shared/, Node and npm packages',
      file: 'electron/peer/x.ts',
      code: [
        "import { Library } from './library.js';",
        "import { encodeFrame } from './v2/frame.js';",
        "import type { LocalFile } from '../../shared/types.js';",
        "import fs from 'node:fs';",
        "import { z } from 'zod';",
      ],
    },
  },
  {
    area: 'renderer/**',
    refused: [
      ["import { Peer } from '../../../electron/peer/peer.js';", 'renderer/src/host/x.ts'],
      ["import { runServe } from '../../electron/serve.js';", 'renderer/src/x.ts'],
      ["import { startPeer } from '../../test/helpers/peers.js';", 'renderer/src/x.ts'],
      ["import { ipcRenderer } from 'electron';", 'renderer/src/x.ts'],
      ["import fs from 'node:fs';", 'renderer/src/x.ts'],
    ],
    allowed: {
      title: 'allows shared/, its own files and npm packages',
      file: 'renderer/src/host/x.ts',
      code: [
        "import type { MacTellaApi } from '../../../shared/contract.js';",
        "import { createWsApi } from './ws-client.js';",
        "import { create } from 'zustand';",
      ],
    },
  },
];

for (const { area, refused, allowed } of AREAS) {
  describe(`lint boundary: ${area}`, () => {
    it.each(refused)('refuses %s in %s', async (code, file) => {
      expect((await boundaryErrors(code, file)).length).toBeGreaterThan(0);
    });

    it(allowed.title, async () => {
      expect(await boundaryErrors(allowed.code.join('\n'), allowed.file)).toEqual([]);
    });
  });
}
