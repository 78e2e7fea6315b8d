import 'reflect-metadata'; // @peculiar/x509's ASN.1 schemas need it loaded first
import * as x509 from '@peculiar/x509';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { peerIdFromKey } from './peer-id.js';

/**
 * This peer's identity: an ECDSA P-256 key and a self-signed certificate for
 * it, kept in the data folder. P-256 because both TLS libraries we run on
 * (OpenSSL in Node, BoringSSL in Electron) sign and verify it in TLS 1.3.
 * The peer ID is derived from the public key alone (see peer-id.ts), so a
 * new certificate for the same key keeps the ID and every pin on it.
 */
export interface PeerIdentity {
  /** The peer ID, e.g. `MFZWI3D-BONSGYC-...`. */
  readonly id: string;
  /** The private key, PKCS#8 PEM. */
  readonly keyPem: string;
  /** The self-signed certificate, PEM. */
  readonly certPem: string;
}

export const IDENTITY_KEY_FILE = 'identity-key.pem';
export const IDENTITY_CERT_FILE = 'identity-cert.pem';

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const CERT_YEARS = 20;

x509.cryptoProvider.set(crypto.webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** The identity files cannot be used, and making a new identity would break every pin on this peer. */
export class IdentityError extends Error {
  override readonly name = 'IdentityError';
}

/**
 * Load this peer's identity from `dataDir`, or create one on first start.
 *
 * - No key file and no certificate: a new key and certificate are made
 *   (`created: true`); the key file gets mode 0600.
 * - A key that cannot be read or parsed, or a certificate without its key:
 *   throws an {@link IdentityError} with one line saying what to do. It
 *   never silently makes a new identity, which would change the peer ID.
 * - A missing or unusable certificate for a good key is made again from the
 *   key (same ID).
 */
export async function loadOrCreateIdentity(dataDir: string): Promise<PeerIdentity & { created: boolean }> {
  const keyFile = path.join(dataDir, IDENTITY_KEY_FILE);
  const certFile = path.join(dataDir, IDENTITY_CERT_FILE);
  const keyPem = await readIfExists(keyFile, 'identity key');
  if (keyPem === undefined) {
    if ((await readIfExists(certFile, 'identity certificate')) !== undefined) {
      throw new IdentityError(
        `identity key ${keyFile} is missing but its certificate ${certFile} is there: restore the key from a backup, or delete the certificate to start with a new peer ID`,
      );
    }
    return { ...(await createIdentity(dataDir)), created: true };
  }
  const key = parsePrivateKey(keyPem, keyFile);
  await tightenMode(keyFile);
  const id = peerIdFromKey(key);
  const certPem = await readIfExists(certFile, 'identity certificate');
  if (certPem !== undefined && certificateMatches(certPem, key)) return { id, keyPem, certPem, created: false };
  const fresh = await selfSign(key);
  await writeAtomic(certFile, fresh, 0o644);
  return { id, keyPem, certPem: fresh, created: false };
}

async function createIdentity(dataDir: string): Promise<PeerIdentity> {
  await fs.promises.mkdir(dataDir, { recursive: true });
  const pair = await crypto.webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const pkcs8 = Buffer.from(await crypto.webcrypto.subtle.exportKey('pkcs8', pair.privateKey));
  const key = crypto.createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  const keyPem = key.export({ type: 'pkcs8', format: 'pem' }) as string;
  const certPem = await selfSign(key);
  // Key first: a crash between the two writes leaves a key whose certificate is simply made again.
  await writeAtomic(path.join(dataDir, IDENTITY_KEY_FILE), keyPem, 0o600);
  await writeAtomic(path.join(dataDir, IDENTITY_CERT_FILE), certPem, 0o644);
  return { id: peerIdFromKey(key), keyPem, certPem };
}

/** A self-signed certificate for `key` (subject CN=mactella, valid 20 years; nobody checks dates, the key is what counts). */
async function selfSign(key: crypto.KeyObject): Promise<string> {
  const subtle = crypto.webcrypto.subtle;
  const der = key.export({ type: 'pkcs8', format: 'der' });
  const privateKey = await subtle.importKey('pkcs8', der, EC, false, ['sign']);
  const spki = crypto.createPublicKey(key).export({ type: 'spki', format: 'der' });
  const publicKey = await subtle.importKey('spki', spki, EC, true, ['verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: crypto
      .randomBytes(16)
      .toString('hex')
      .replace(/^[89a-f]/, '1'), // positive
    name: 'CN=mactella',
    notBefore: new Date(now - 24 * 3600_000),
    notAfter: new Date(now + CERT_YEARS * 365 * 24 * 3600_000),
    signingAlgorithm: SIGNING,
    keys: { privateKey, publicKey },
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
  });
  return cert.toString('pem') + '\n';
}

function parsePrivateKey(pem: string, file: string): crypto.KeyObject {
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(pem);
  } catch (e) {
    throw new IdentityError(
      `identity key ${file} is corrupt (${(e as Error).message}): restore it from a backup, or delete it and ${IDENTITY_CERT_FILE} to start with a new peer ID`,
    );
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new IdentityError(
      `identity key ${file} is not an ECDSA P-256 key: restore the right file, or delete it and ${IDENTITY_CERT_FILE} to start with a new peer ID`,
    );
  }
  return key;
}

function certificateMatches(pem: string, key: crypto.KeyObject): boolean {
  try {
    return new crypto.X509Certificate(pem).checkPrivateKey(key);
  } catch {
    return false;
  }
}

async function readIfExists(file: string, what: string): Promise<string | undefined> {
  try {
    return await fs.promises.readFile(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') return undefined;
    throw new IdentityError(`cannot read ${what} ${file}: ${err.code ?? err.message}; fix its permissions or restore it`);
  }
}

/** The private key readable by its owner only, even if someone loosened it. */
async function tightenMode(file: string): Promise<void> {
  if (process.platform === 'win32') return;
  const st = await fs.promises.stat(file);
  if ((st.mode & 0o077) !== 0) await fs.promises.chmod(file, 0o600);
}

/** Write via a temp file created with `mode` (never wider for a moment), then rename over. */
async function writeAtomic(file: string, data: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  try {
    const fh = await fs.promises.open(tmp, 'wx', mode);
    try {
      await fh.writeFile(data);
      await fh.chmod(mode); // the umask may have narrowed it; we want exactly this
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw new IdentityError(`cannot write ${file}: ${(e as Error).message}`);
  }
}
