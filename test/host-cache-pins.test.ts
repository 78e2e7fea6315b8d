import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HostCache } from '../electron/peer/host-cache.js';
import { peerIdFromSpki } from '../electron/peer/identity/peer-id.js';
import { parsePeerArgs } from '../electron/peer/options.js';
import { loadPeerOptions, optionsToSettings, saveSettings } from '../electron/peer/settings-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'mactella-pins-'));
  dirs.push(d);
  return d;
}
const newId = () => peerIdFromSpki(crypto.randomBytes(91));
const A = { host: '127.0.0.1', port: 10001 };

describe('pinned peer IDs in the known-peer list', () => {
  it('pin on first contact; a different ID later is a conflict and the refusal names both IDs', () => {
    const hc = new HostCache(path.join(tmp(), 'hosts.json'), []);
    hc.add(A, 'user');
    const [x, y] = [newId(), newId()];
    expect(hc.pinnedId(A)).toBeUndefined();
    expect(hc.pin(A, x)).toBe('pinned');
    expect(hc.pin(A, x)).toBe('same');
    expect(hc.pin(A, y)).toBe('conflict');
    expect(hc.pinnedId(A)).toBe(x);
    expect(hc.refuse(A, y)).toBe(`expected peer ${x} at 127.0.0.1:10001, but it presented ${y}`);
    expect(hc.get(A)?.refused).toContain(y);
    expect(hc.pin(A, x)).toBe('same'); // the right peer is back: the refusal clears
    expect(hc.get(A)?.refused).toBeUndefined();
    expect(hc.pin({ host: '127.0.0.1', port: 9 }, x)).toBe('unknown'); // proving an ID does not join the list
    expect(hc.has({ host: '127.0.0.1', port: 9 })).toBe(false);
  });

  it('an ID the user gives pins from the start and replaces an old pin; an ID from discovery never does', () => {
    const hc = new HostCache(path.join(tmp(), 'hosts.json'), []);
    const [x, y, z] = [newId(), newId(), newId()];
    hc.add({ ...A, id: x }, 'user');
    expect(hc.pinnedId(A)).toBe(x);
    hc.add({ ...A, id: z }, 'discovered');
    expect(hc.pinnedId(A)).toBe(x);
    hc.add({ ...A, id: y }, 'user');
    expect(hc.pinnedId(A)).toBe(y);
    const B = { host: '127.0.0.1', port: 10002 };
    hc.add({ ...B, id: z }, 'discovered');
    expect(hc.pinnedId(B)).toBeUndefined();
    const C = { host: '127.0.0.1', port: 10003 };
    hc.add({ ...C, id: z }, 'nearby'); // an mDNS announcement is a claim too
    expect(hc.pinnedId(C)).toBeUndefined();
  });

  it('pins survive a restart and RESET, for bootstrap peers too', async () => {
    const file = path.join(tmp(), 'hosts.json');
    const [x, y, w] = [newId(), newId(), newId()];
    const B = { host: '127.0.0.1', port: 10002 };
    const C = { host: '127.0.0.1', port: 10003 };
    const hc = new HostCache(file, [B, { ...C, id: w }]);
    await hc.load();
    expect(hc.pinnedId(C)).toBe(w); // --peer ID@HOST:PORT
    hc.add(A, 'user');
    hc.pin(A, x);
    hc.pin(B, y);
    await hc.flush();
    const again = new HostCache(file, [B, { ...C, id: w }]);
    await again.load();
    expect([again.pinnedId(A), again.pinnedId(B), again.pinnedId(C)]).toEqual([x, y, w]);
    again.reset();
    expect([again.pinnedId(B), again.pinnedId(C), again.has(A)]).toEqual([y, w, false]);
  });

  it('a saved pin that is not a valid ID is ignored on load', async () => {
    const file = path.join(tmp(), 'hosts.json');
    fs.writeFileSync(file, JSON.stringify({ peers: [{ ...A, id: 'forged', source: 'user', protocol: 'v2' }] }));
    const hc = new HostCache(file, []);
    await hc.load();
    expect(hc.has(A)).toBe(true);
    expect(hc.pinnedId(A)).toBeUndefined();
  });
});

describe('--peer ID@HOST:PORT', () => {
  it('parses into a pinned bootstrap peer, and the pin is saved in the settings as written', async () => {
    const x = newId();
    const dataDir = tmp();
    const { options } = parsePeerArgs(['--data', dataDir, '--peer', `${x.toLowerCase()}@127.0.0.1:10001`, '--peer', '127.0.0.1:10002']);
    expect(options.bootstrap).toEqual([
      { id: x, host: '127.0.0.1', port: 10001 },
      { host: '127.0.0.1', port: 10002 },
    ]);
    const full = await loadPeerOptions(options);
    expect(optionsToSettings(full).bootstrap).toEqual([`${x}@127.0.0.1:10001`, '127.0.0.1:10002']);
    await saveSettings(dataDir, optionsToSettings(full));
    expect((await loadPeerOptions({ dataDir })).bootstrap).toEqual(full.bootstrap);
  });

  it('a bad ID is refused with a message that says what is wrong', () => {
    expect(() => parsePeerArgs(['--peer', 'WRONGID@127.0.0.1:10001'])).toThrow(/bad peer ID "WRONGID": expected eight groups of seven/);
  });
});
