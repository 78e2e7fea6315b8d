import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readUntil } from '../electron/peer/net/read-until.js';
import { listenTracked, type TrackedServer } from './helpers/tracked-server.js';

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

/** A loopback pair: the server side (paused, as the listener hands sockets on) and the client that writes to it. */
async function pair(): Promise<{ server: net.Socket; client: net.Socket }> {
  let accepted!: (s: net.Socket) => void;
  const got = new Promise<net.Socket>((r) => (accepted = r));
  const srv: TrackedServer = await listenTracked((s) => {
    s.pause();
    accepted(s);
  });
  closers.push(() => srv.close());
  const client = net.connect(srv.port, '127.0.0.1');
  client.on('error', () => {});
  closers.push(() => client.destroy());
  return { server: await got, client };
}

/** Collect bytes until a newline: the line, without it. */
const line = () => {
  let buf = '';
  return (c: Buffer) => {
    buf += c.toString();
    const i = buf.indexOf('\n');
    return i < 0 ? undefined : buf.slice(0, i);
  };
};

describe('readUntil', () => {
  it('gathers chunks until it has what it wants, then leaves the socket paused and to its next reader', async () => {
    const { server, client } = await pair();
    const closeListeners = server.listenerCount('close');
    const result = readUntil(server, line(), 5000, 'a line');
    client.write('hel');
    setTimeout(() => client.write('lo\n'), 20);
    await expect(result).resolves.toBe('hello');
    expect(server.isPaused()).toBe(true);
    expect(server.listenerCount('data')).toBe(0);
    expect(server.listenerCount('close')).toBe(closeListeners);
    // The next reader gets the next bytes.
    const next = readUntil(server, line(), 5000, 'a second line');
    client.write('world\n');
    await expect(next).resolves.toBe('world');
  });

  it("rejects with take's error", async () => {
    const { server, client } = await pair();
    const result = readUntil(
      server,
      () => {
        throw new Error('not ours');
      },
      5000,
      'a line',
    );
    client.write('x');
    await expect(result).rejects.toThrow('not ours');
    expect(server.listenerCount('data')).toBe(0);
  });

  it('rejects when the connection closes first, naming what it waited for', async () => {
    const { server, client } = await pair();
    const result = readUntil(server, line(), 5000, 'a line');
    client.end('no newline');
    await expect(result).rejects.toThrow('connection closed before a line');
  });

  it('rejects after its time limit and removes its listeners', async () => {
    const { server } = await pair();
    const closeListeners = server.listenerCount('close');
    const t0 = Date.now();
    await expect(readUntil(server, line(), 150, 'a line')).rejects.toThrow('timed out waiting for a line');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(server.listenerCount('close')).toBe(closeListeners);
    expect(server.isPaused()).toBe(true);
  });

  it('can resolve on close (read to the end) and reports a socket error through `closed`', async () => {
    const { server, client } = await pair();
    let all = '';
    const toEnd = readUntil(server, (c) => void (all += c.toString()), 5000, 'the end', {
      closed: (e) => {
        if (e) throw e;
        return all;
      },
    });
    client.end('whole reply');
    await expect(toEnd).resolves.toBe('whole reply');

    const other = await pair();
    const errorListeners = other.server.listenerCount('error');
    const failed = readUntil(other.server, () => undefined, 5000, 'the end', {
      closed: (e) => {
        throw e ?? new Error('no error');
      },
    });
    other.client.resetAndDestroy();
    await expect(failed).rejects.toThrow(/ECONNRESET/);
    expect(other.server.listenerCount('error')).toBe(errorListeners);
  });

  it('reads `initial` first, names its own timeout, and 0 means no time limit', async () => {
    const { server, client } = await pair();
    await expect(readUntil(server, line(), 5000, 'a line', { initial: Buffer.from('early\n') })).resolves.toBe('early');
    await expect(readUntil(server, line(), 100, 'a line', { timedOut: 'too slow' })).rejects.toThrow('too slow');
    const unbounded = readUntil(server, line(), 0, 'a line');
    setTimeout(() => client.write('late\n'), 200);
    await expect(unbounded).resolves.toBe('late');
  });
});
