import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadOrCreateIdentity, type PeerIdentity } from '../electron/peer/identity/identity.js';
import { PeerIdMismatchError } from '../electron/peer/identity/tls-link.js';
import { nextFrame } from '../electron/peer/overlay/v2-inbound.js';
import { readHandshake, type Hello } from '../electron/peer/v2/connection.js';
import { encodeFrame, FrameDecoder } from '../electron/peer/v2/frame.js';
import { MAGIC, PROTOCOL_VERSION } from '../electron/peer/v2/messages.js';
import { acceptSecureV2, checkHelloId, dialSecureV2, HelloIdMismatchError } from '../electron/peer/v2/secure-v2.js';
import { cleanupTemp, tempDir } from './helpers/harness.js';
import { listenSniffing } from './helpers/tls-sniff.js';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
  cleanupTemp();
});

const identity = (): Promise<PeerIdentity> => loadOrCreateIdentity(tempDir('mactella-v2tls-'));

const hello = (peerId: string, role: Hello['role'] = 'query'): Hello => ({ t: 'hello', v: PROTOCOL_VERSION, peerId, port: 1, role });

/**
 * A v2 server as the listener and V2Inbound run it: sniff TLS, accept, read
 * the client's hello and check it against the certificate, then answer with
 * `answerAs`'s hello (normally its own ID). Outcomes are queued.
 */
async function server(id: PeerIdentity, answerAs = id.id) {
  const outcomes: (string | Error)[] = [];
  const waiters: ((o: string | Error) => void)[] = [];
  const report = (o: string | Error) => (waiters.length ? waiters.shift()!(o) : outcomes.push(o));
  const srv = await listenSniffing((raw, first, isTls) => {
    if (!isTls) return void raw.destroy(); // as a seed peer would, after its one recv
    void (async () => {
      try {
        const { socket, rest, remoteId } = await acceptSecureV2(raw, first, id, 2000);
        closers.push(() => socket.destroy());
        const decoder = new FrameDecoder();
        decoder.append(rest);
        const h = decoder.next() ?? (await nextFrame(socket, decoder, 2000));
        if (h.t !== 'hello') throw new Error('no hello');
        checkHelloId(h, remoteId, 'client');
        socket.write(Buffer.concat([MAGIC, encodeFrame(hello(answerAs))]));
        report(remoteId);
      } catch (e) {
        report(e as Error);
      }
    })();
  });
  closers.push(() => void srv.close());
  return {
    addr: { host: '127.0.0.1', port: srv.port },
    next: () =>
      Promise.race([
        outcomes.length ? Promise.resolve(outcomes.shift()!) : new Promise<string | Error>((r) => waiters.push(r)),
        new Promise<never>((_, j) => setTimeout(() => j(new Error('no server outcome')), 5000).unref()),
      ]),
  };
}

describe('v2 inside TLS', () => {
  it('both hellos travel inside TLS and each side learns the ID the other proved', async () => {
    const [a, b] = [await identity(), await identity()];
    const s = await server(b);
    const link = await dialSecureV2(s.addr, a, hello(a.id), { expectedId: b.id, timeoutMs: 5000 });
    if (link === 'v1') throw new Error('unexpected v1');
    closers.push(() => link.socket.destroy());
    expect(link.remoteId).toBe(b.id);
    expect(link.remote.peerId).toBe(b.id);
    expect(link.socket.getProtocol()).toBe('TLSv1.3');
    expect(await s.next()).toBe(a.id);
  });

  it('a server whose hello claims another ID than its certificate is dropped, naming both', async () => {
    const [a, b, c] = [await identity(), await identity(), await identity()];
    const s = await server(b, c.id);
    const err = await dialSecureV2(s.addr, a, hello(a.id), { timeoutMs: 5000 }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(HelloIdMismatchError);
    expect((err as Error).message).toBe(
      `peer at ${s.addr.host}:${s.addr.port} claims ID ${c.id} in its hello, but its certificate proves ${b.id}`,
    );
  });

  it('a client whose hello claims another peer ID is refused by the server', async () => {
    const [a, b, c] = [await identity(), await identity(), await identity()];
    const s = await server(b);
    const dial = dialSecureV2(s.addr, a, hello(c.id), { timeoutMs: 5000 });
    const outcome = await s.next();
    expect(outcome).toBeInstanceOf(HelloIdMismatchError);
    expect((outcome as Error).message).toBe(`peer at client claims ID ${c.id} in its hello, but its certificate proves ${a.id}`);
    await expect(dial).rejects.toThrow();
  });

  it('a pinned ID that the address does not prove is refused before any v2 byte is sent', async () => {
    const [a, b, c] = [await identity(), await identity(), await identity()];
    const s = await server(b);
    const err = await dialSecureV2(s.addr, a, hello(a.id), { expectedId: c.id, timeoutMs: 5000 }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(PeerIdMismatchError);
    expect((err as Error).message).toBe(`expected peer ${c.id} at ${s.addr.host}:${s.addr.port}, but it presented ${b.id}`);
  });

  it('an address that does not speak TLS (a seed peer) resolves v1, so the caller can fall back', async () => {
    const a = await identity();
    const seed = net.createServer((sock) => {
      sock.on('error', () => {});
      sock.once('data', () => sock.end());
    });
    await new Promise<void>((r) => seed.listen(0, '127.0.0.1', r));
    closers.push(() => seed.close());
    const port = (seed.address() as net.AddressInfo).port;
    expect(await dialSecureV2({ host: '127.0.0.1', port }, a, hello(a.id), { timeoutMs: 5000 })).toBe('v1');
  });

  it('inside TLS, anything but the v2 magic is dropped', async () => {
    const [a, b] = [await identity(), await identity()];
    const s = await server(b);
    const { secureDial } = await import('../electron/peer/identity/tls-link.js');
    const link = await secureDial(s.addr.host, s.addr.port, a, { timeoutMs: 5000 });
    closers.push(() => link.socket.destroy());
    link.socket.write('GET / HTTP/1.0\r\n\r\n');
    const outcome = await s.next();
    expect((outcome as Error).message).toBe('no v2 magic inside TLS');
    await expect(readHandshake(link.socket, new FrameDecoder(), 5000)).resolves.toBe('v1'); // closed without a hello
  });
});
