import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import {
  IDENTITY_CERT_FILE,
  IDENTITY_KEY_FILE,
  IdentityError,
  loadOrCreateIdentity,
  type PeerIdentity,
} from '../electron/peer/identity/identity.js';
import { isPeerId, parsePeerId, parsePeerSpec, peerIdFromSpki } from '../electron/peer/identity/peer-id.js';
import {
  PeerIdMismatchError,
  secureAccept,
  secureDial,
  type SecureLink,
  TlsLinkError,
  tlsSelfCheck,
} from '../electron/peer/identity/tls-link.js';
import { cleanupTemp, tempDir } from './helpers/harness.js';
import { listenSniffing } from './helpers/tls-sniff.js';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
  cleanupTemp();
});

async function tmp(): Promise<string> {
  return tempDir('mactella-id-');
}

async function identity(): Promise<PeerIdentity> {
  return loadOrCreateIdentity(await tmp());
}

/** Resolve with the first value `events` yields that passes `pred`, or reject after `ms`. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`timed out: ${what}`)), ms).unref())]);
}

type Accepted = { link: SecureLink } | { plain: Buffer } | { error: Error };

/**
 * A listener like the peer's: it reads the first bytes, upgrades a TLS
 * ClientHello with secureAccept (and echoes over TLS), and answers anything
 * else in plain text. Each connection's outcome is queued for the test.
 */
async function sniffingServer(id: PeerIdentity, acceptTimeoutMs?: number) {
  const outcomes: Accepted[] = [];
  const waiters: ((a: Accepted) => void)[] = [];
  const report = (a: Accepted) => (waiters.length ? waiters.shift()!(a) : outcomes.push(a));
  const server = await listenSniffing((raw, first, isTls) => {
    if (isTls) {
      secureAccept(raw, id, first, { timeoutMs: acceptTimeoutMs }).then(
        (link) => {
          link.socket.pipe(link.socket); // echo
          report({ link });
        },
        (error: Error) => report({ error }),
      );
    } else {
      raw.end(Buffer.concat([Buffer.from('plain:'), first]));
      raw.resume(); // drain whatever else the client sends, so it can finish and close
      report({ plain: first });
    }
  });
  closers.push(() => void server.close());
  return {
    port: server.port,
    next: () =>
      within(outcomes.length ? Promise.resolve(outcomes.shift()!) : new Promise<Accepted>((r) => waiters.push(r)), 5000, 'server outcome'),
  };
}

async function echo(link: SecureLink, data: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  return within(
    new Promise<Buffer>((resolve) => {
      link.socket.on('data', (c: Buffer) => {
        chunks.push(c);
        n += c.length;
        if (n >= data.length) resolve(Buffer.concat(chunks));
      });
      link.socket.write(data);
    }),
    5000,
    'echo',
  );
}

describe('peer IDs', () => {
  it("accept Syncthing's own example ID (same check characters) and refuse a typo", () => {
    const st = 'P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ2';
    expect(parsePeerId(st)).toBe(st);
    expect(parsePeerId(st.toLowerCase().replace(/-/g, ''))).toBe(st);
    expect(() => parsePeerId(st.replace('MZJNU2Y', 'MZJNV2Y'))).toThrow(/check character/);
    expect(() => parsePeerId('0123')).toThrow(/bad peer ID "0123": expected eight groups of seven/);
  });

  it('are made from the public key, in eight dashed groups of seven', () => {
    const { publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const id = peerIdFromSpki(publicKey.export({ type: 'spki', format: 'der' }));
    expect(id).toMatch(/^([A-Z2-7]{7}-){7}[A-Z2-7]{7}$/);
    expect(isPeerId(id)).toBe(true);
  });

  it('parse ID@HOST:PORT and plain HOST:PORT', () => {
    const id = 'P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ2';
    expect(parsePeerSpec(`${id}@127.0.0.1:10001`)).toEqual({ id, host: '127.0.0.1', port: 10001 });
    expect(parsePeerSpec(`${id.toLowerCase()}@[::1]:5`)).toEqual({ id, host: '::1', port: 5 });
    expect(parsePeerSpec('10.0.0.2:7')).toEqual({ host: '10.0.0.2', port: 7 });
    expect(() => parsePeerSpec('NOPE@127.0.0.1:1')).toThrow(/bad peer ID "NOPE"/);
    expect(() => parsePeerSpec(`${id}@127.0.0.1`)).toThrow(/expected HOST:PORT/);
  });
});

describe('identity files', () => {
  it('are made once, with the key at mode 0600, and give the same ID on every later start', async () => {
    const dir = await tmp();
    const a = await loadOrCreateIdentity(dir);
    expect(a.created).toBe(true);
    expect(isPeerId(a.id)).toBe(true);
    if (process.platform !== 'win32') expect(fs.statSync(path.join(dir, IDENTITY_KEY_FILE)).mode & 0o777).toBe(0o600);
    const cert = new crypto.X509Certificate(a.certPem);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(cert.verify(cert.publicKey)).toBe(true); // really self-signed
    const b = await loadOrCreateIdentity(dir);
    expect(b).toMatchObject({ id: a.id, created: false, keyPem: a.keyPem, certPem: a.certPem });
  });

  it('a key whose mode was loosened is tightened back to 0600 on start', async () => {
    if (process.platform === 'win32') return;
    const dir = await tmp();
    await loadOrCreateIdentity(dir);
    fs.chmodSync(path.join(dir, IDENTITY_KEY_FILE), 0o644);
    await loadOrCreateIdentity(dir);
    expect(fs.statSync(path.join(dir, IDENTITY_KEY_FILE)).mode & 0o777).toBe(0o600);
  });

  it('a corrupt key file stops the start with one clear line, and is left as it was', async () => {
    const dir = await tmp();
    await loadOrCreateIdentity(dir);
    const keyFile = path.join(dir, IDENTITY_KEY_FILE);
    fs.writeFileSync(keyFile, '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n');
    const err = await loadOrCreateIdentity(dir).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(IdentityError);
    expect((err as Error).message).toContain(`identity key ${keyFile} is corrupt`);
    expect((err as Error).message).not.toContain('\n');
    expect(fs.readFileSync(keyFile, 'utf8')).toContain('not a key'); // never replaced by a new identity
  });

  it('an unreadable key file, or a certificate whose key is gone, is an error too, never a new identity', async () => {
    const dir = await tmp();
    await loadOrCreateIdentity(dir);
    const keyFile = path.join(dir, IDENTITY_KEY_FILE);
    if (process.getuid?.() !== 0 && process.platform !== 'win32') {
      fs.chmodSync(keyFile, 0o000);
      await expect(loadOrCreateIdentity(dir)).rejects.toThrow(/cannot read identity key .*EACCES/);
      fs.chmodSync(keyFile, 0o600);
    }
    fs.rmSync(keyFile);
    await expect(loadOrCreateIdentity(dir)).rejects.toThrow(/identity key .* is missing but its certificate/);
    expect(fs.existsSync(keyFile)).toBe(false);
  });

  it('a lost or damaged certificate is made again from the key, keeping the ID', async () => {
    const dir = await tmp();
    const a = await loadOrCreateIdentity(dir);
    fs.writeFileSync(path.join(dir, IDENTITY_CERT_FILE), 'garbage');
    const b = await loadOrCreateIdentity(dir);
    expect(b.id).toBe(a.id);
    expect(new crypto.X509Certificate(b.certPem).checkPrivateKey(crypto.createPrivateKey(b.keyPem))).toBe(true);
  });
});

describe('TLS links', () => {
  it('two identities handshake TLS 1.3 with AES-GCM both ways, each learning the other ID', async () => {
    const [a, b] = [await identity(), await identity()];
    for (const [client, server] of [
      [a, b],
      [b, a],
    ] as const) {
      const srv = await sniffingServer(server);
      const link = await secureDial('127.0.0.1', srv.port, client, { expectedId: server.id, timeoutMs: 5000 });
      closers.push(() => link.socket.destroy());
      const accepted = await srv.next();
      if (!('link' in accepted)) throw new Error(`server side: ${JSON.stringify(accepted)}`);
      expect(link.remoteId).toBe(server.id);
      expect(accepted.link.remoteId).toBe(client.id);
      for (const s of [link.socket, accepted.link.socket]) {
        expect(s.getProtocol()).toBe('TLSv1.3');
        expect(['TLS_AES_256_GCM_SHA384', 'TLS_AES_128_GCM_SHA256']).toContain(s.getCipher().standardName);
      }
      const data = crypto.randomBytes(200_000);
      expect((await echo(link, data)).equals(data)).toBe(true);
    }
  });

  it('the self-check reports what this runtime negotiates: TLS 1.3 with AES-GCM under Node', async () => {
    const r = await tlsSelfCheck(await identity());
    expect(r.protocol).toBe('TLSv1.3');
    expect(['TLS_AES_256_GCM_SHA384', 'TLS_AES_128_GCM_SHA256']).toContain(r.cipher);
  });

  it('refuses a peer that proves another ID than expected, naming both IDs and the address', async () => {
    const [a, b, c] = [await identity(), await identity(), await identity()];
    const srv = await sniffingServer(b);
    const err = await secureDial('127.0.0.1', srv.port, a, { expectedId: c.id, timeoutMs: 5000 }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(PeerIdMismatchError);
    expect((err as PeerIdMismatchError).kind).toBe('mismatch');
    expect((err as Error).message).toBe(`expected peer ${c.id} at 127.0.0.1:${srv.port}, but it presented ${b.id}`);
  });

  it('in Node the AES-GCM suite list is enforced: a client offering only ChaCha20 gets no link', async () => {
    const [a, b] = [await identity(), await identity()];
    const srv = await sniffingServer(b);
    const client = tls.connect({
      host: '127.0.0.1',
      port: srv.port,
      key: a.keyPem,
      cert: a.certPem,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.3',
      ciphers: 'TLS_CHACHA20_POLY1305_SHA256',
    });
    const failed = within(new Promise<Error>((r) => client.once('error', r)), 5000, 'client error');
    const outcome = await srv.next();
    expect('error' in outcome && outcome.error.message).toMatch(/no shared cipher|handshake failure/i);
    await failed;
  });

  it('refuses a client that presents no certificate', async () => {
    const b = await identity();
    const srv = await sniffingServer(b);
    const client = tls.connect({ host: '127.0.0.1', port: srv.port, rejectUnauthorized: false, minVersion: 'TLSv1.3' });
    client.on('error', () => {});
    const closed = within(new Promise((r) => client.once('close', r)), 5000, 'client closed');
    const outcome = await srv.next();
    expect('error' in outcome && outcome.error.message).toMatch(/^peer at 127\.0\.0\.1:\d+ presented no certificate$/);
    await closed;
  });

  it('one port serves TLS and plain-text first bytes; the already-read bytes reach TLS intact', async () => {
    const [a, b] = [await identity(), await identity()];
    const srv = await sniffingServer(b);
    const plain = net.connect(srv.port, '127.0.0.1');
    plain.write('SEARCH,1,2\n');
    const reply = await within(
      new Promise<string>((r) => {
        let s = '';
        plain.on('data', (c: Buffer) => (s += c.toString()));
        plain.on('end', () => r(s));
      }),
      5000,
      'plain reply',
    );
    expect(reply).toBe('plain:SEARCH,1,2\n');
    expect(await srv.next()).toEqual({ plain: Buffer.from('SEARCH,1,2\n') });

    // A TLS client whose ClientHello arrives split after its first byte: the sniffer holds two reads before TLS sees them.
    const splitter = net.createServer((inbound) => {
      const outbound = net.connect(srv.port, '127.0.0.1');
      outbound.setNoDelay(true);
      let first = true;
      inbound.on('data', (c: Buffer) => {
        if (!first) return void outbound.write(c);
        first = false;
        outbound.write(c.subarray(0, 1));
        setTimeout(() => outbound.write(c.subarray(1)), 30);
      });
      outbound.on('data', (c: Buffer) => inbound.write(c));
      for (const s of [inbound, outbound]) s.on('error', () => {});
      inbound.on('close', () => outbound.destroy());
      outbound.on('close', () => inbound.destroy());
    });
    await new Promise<void>((r) => splitter.listen(0, '127.0.0.1', r));
    closers.push(() => splitter.close());
    const link = await secureDial('127.0.0.1', (splitter.address() as net.AddressInfo).port, a, { expectedId: b.id, timeoutMs: 5000 });
    closers.push(() => link.socket.destroy());
    expect('link' in (await srv.next())).toBe(true);
  });

  it('a dial to a plain-text service (a v1 seed peer) fails as "not-tls", whether it closes, resets or answers', async () => {
    const a = await identity();
    for (const answer of ['close', 'reset', 'reply'] as const) {
      const seed = net.createServer((s) => {
        s.on('error', () => {});
        s.once('data', () => (answer === 'close' ? s.end() : answer === 'reset' ? s.resetAndDestroy() : s.end('ERROR: unknown\n')));
      });
      await new Promise<void>((r) => seed.listen(0, '127.0.0.1', r));
      closers.push(() => seed.close());
      const port = (seed.address() as net.AddressInfo).port;
      const err = await secureDial('127.0.0.1', port, a, { timeoutMs: 5000 }).catch((e: unknown) => e as TlsLinkError);
      expect(err).toBeInstanceOf(TlsLinkError);
      expect({ answer, kind: (err as TlsLinkError).kind }).toEqual({ answer, kind: 'not-tls' });
      expect((err as Error).message).toMatch(
        new RegExp(`^127\\.0\\.0\\.1:${port} (closed the connection without answering TLS|answered in plain text, not TLS)`),
      );
    }
  });

  it('times out a handshake that never finishes, on both sides', async () => {
    const [a, b] = [await identity(), await identity()];
    const srv = await sniffingServer(b, 300);
    const stalled = net.connect(srv.port, '127.0.0.1', () => stalled.write(Buffer.from([0x16, 0x03])));
    stalled.on('error', () => {});
    closers.push(() => stalled.destroy());
    const outcome = await srv.next();
    expect('error' in outcome && outcome.error.message).toMatch(/^TLS handshake with 127\.0\.0\.1:\d+ timed out after 300 ms$/);

    const mute = net.createServer(() => {}); // accepts, never answers
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
    closers.push(() => mute.close());
    const port = (mute.address() as net.AddressInfo).port;
    await expect(secureDial('127.0.0.1', port, a, { timeoutMs: 300 })).rejects.toThrow(
      `TLS handshake with 127.0.0.1:${port} timed out after 300 ms`,
    );
    const closedPort = port;
    mute.close();
    await expect(secureDial('127.0.0.1', closedPort, a, { timeoutMs: 2000 })).rejects.toMatchObject({
      kind: 'connect',
      message: expect.stringContaining(`cannot connect to 127.0.0.1:${closedPort}: connect ECONNREFUSED`),
    });
    const ac = new AbortController();
    const dial = secureDial('127.0.0.1', port, a, { signal: ac.signal });
    ac.abort();
    await expect(dial).rejects.toThrow(`connecting to 127.0.0.1:${port}: aborted`);
  });

  it('a proxy in the middle sees no 32-byte block of the payload (and the same check does catch plain text)', async () => {
    const [a, b] = [await identity(), await identity()];
    const payload = crypto.randomBytes(1 << 20);
    const blocks = new Set<string>();
    for (let i = 0; i + 32 <= payload.length; i += 32) blocks.add(payload.toString('latin1', i, i + 32));
    // Any 64-byte run of the payload contains one whole aligned 32-byte block, so this is the stricter check.
    const leaks = (wire: Buffer) => {
      const s = wire.toString('latin1');
      for (let i = 0; i + 32 <= s.length; i++) if (blocks.has(s.slice(i, i + 32))) return true;
      return false;
    };

    const run = async (secure: boolean): Promise<Buffer> => {
      const srv = await sniffingServer(b);
      const wire: Buffer[] = [];
      const proxy = net.createServer((inbound) => {
        const outbound = net.connect(srv.port, '127.0.0.1');
        inbound.on('data', (c: Buffer) => {
          wire.push(c);
          outbound.write(c);
        });
        outbound.on('data', (c: Buffer) => {
          wire.push(c);
          inbound.write(c);
        });
        for (const s of [inbound, outbound]) s.on('error', () => {});
        inbound.on('close', () => outbound.destroy());
        outbound.on('close', () => inbound.destroy());
      });
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
      closers.push(() => proxy.close());
      const port = (proxy.address() as net.AddressInfo).port;
      if (secure) {
        const link = await secureDial('127.0.0.1', port, a, { expectedId: b.id, timeoutMs: 5000 });
        closers.push(() => link.socket.destroy());
        expect((await echo(link, payload)).equals(payload)).toBe(true);
      } else {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => {});
        // Read the plain answer: a socket whose received bytes are never read emits no 'end', so 'close' would
        // come only when the proxy's close happened to be a reset (the test hung on the orderly FIN).
        s.resume();
        s.end(Buffer.concat([Buffer.from('X'), payload])); // not a ClientHello: the server answers in plain text
        await within(new Promise((r) => s.on('close', r)), 5000, 'plain run');
      }
      return Buffer.concat(wire);
    };
    expect(leaks(await run(false))).toBe(true);
    const wire = await run(true);
    expect(wire.length).toBeGreaterThan(2 * payload.length);
    expect(leaks(wire)).toBe(false);
  });
});
