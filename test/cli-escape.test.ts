/**
 * Audit finding 13: terminal escape sequences from the network were printed
 * raw in log lines, `found:` lines and LISTR output. One helper escapes them.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { formatHit } from '../electron/cli.js';
import { consoleLogger, printable } from '../electron/peer/logger.js';
import { sendHello } from '../electron/peer/v2/connection.js';
import { encodeFrame, FrameDecoder } from '../electron/peer/v2/frame.js';
import { localPeerArgs, spawnCli, type CliProcess } from './helpers/cli.js';
import { cleanupTemp, tempDir } from './helpers/harness.js';
import { serveV2ByHand, testIdentity } from './helpers/v2-wire.js';

const EVIL = 'song\x1b]0;pwned\x07\x1b[2J\r\nSET x\u009b31m\u202e.mp3';
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

const running: CliProcess[] = [];
const closers: (() => void)[] = [];
afterAll(() => {
  for (const c of running) c.proc.kill('SIGKILL');
  for (const close of closers) close();
  cleanupTemp();
});
afterEach(() => vi.restoreAllMocks());

describe('printable', () => {
  it('escapes control characters, C1 controls and bidi overrides, and keeps the rest', () => {
    expect(printable(EVIL)).toBe('song\\x1b]0;pwned\\x07\\x1b[2J\\r\\nSET x\\x9b31m\\u202e.mp3');
    expect(printable('plain name (1).mp3 — café\ttab')).toBe('plain name (1).mp3 — café\ttab');
    expect(printable(printable(EVIL))).toBe(printable(EVIL));
  });
});

describe('what reaches the terminal', () => {
  it('log lines', () => {
    const lines: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((m: string) => void lines.push(m));
    const log = consoleLogger();
    log.info(`hello from ${EVIL}`);
    log.warn(EVIL);
    log.error(EVIL);
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(l).not.toMatch(RAW_CONTROL);
    expect(lines[1]).toContain('\\x1b]0;pwned');
  });

  it('found: lines', () => {
    const line = formatHit({
      searchId: 's',
      name: EVIL,
      size: 5,
      type: 'music',
      peer: { host: '127.0.0.1\x1b[2J', port: 1 },
      protocol: 'v2',
    } as Parameters<typeof formatHit>[0]);
    expect(line).not.toMatch(RAW_CONTROL);
    expect(line).not.toContain('\n');
    expect(line).toMatch(/^found: song\\x1b\]0;pwned/);
  });

  it('LISTR output of a hostile peer, through the real bin', async () => {
    // A v2 peer on loopback whose listing carries escape sequences in a name.
    // v2 runs inside TLS: the scripted server has an identity of its own.
    const identity = await testIdentity('hostile-lister');
    const server = await serveV2ByHand(identity, (socket, rest) => {
      const decoder = new FrameDecoder();
      decoder.append(rest);
      socket.on('error', () => socket.destroy());
      let helloSeen = false;
      const answer = () => {
        for (let m = decoder.next(); m; m = decoder.next()) {
          if (m.t === 'hello' && !helloSeen) {
            helloSeen = true;
            sendHello(socket, { t: 'hello', v: 2, peerId: identity.id, port: 1, role: 'query' });
          }
          if (m.t === 'list')
            socket.end(
              encodeFrame({ t: 'list-result', files: [{ name: EVIL, size: 5, type: 'music', sha256: 'a'.repeat(64) }], more: false }),
            );
        }
      };
      socket.on('data', (c: Buffer) => (decoder.append(c), answer()));
      answer();
      socket.resume();
    });
    closers.push(server.close);
    const port = server.port;
    const cli = spawnCli(localPeerArgs(tempDir()));
    running.push(cli);
    cli.proc.stdin.end(`LISTR,127.0.0.1,${port}\n`);
    expect(await cli.exited).toBe(0);
    const all = [...cli.out, ...cli.err];
    for (const l of all) expect(l).not.toMatch(RAW_CONTROL);
    // Either the listing was shown escaped, or (once names with control characters are refused) an error line saying so.
    expect(
      all.some((l) => l.includes('song\\x1b]0;pwned\\x07\\x1b[2J\\r\\nSET') || (l.startsWith('error: ') && !/timed out/.test(l))),
    ).toBe(true);
  });
});
