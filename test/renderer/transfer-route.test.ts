/** The Transfers row: where a download comes from, and how when it came by PUSH or a relay (issue 11). */
import { describe, expect, it } from 'vitest';
import type { TransferInfo } from '../../shared/types.js';
import { transferPeersText } from '../../renderer/src/lib/format.js';

const RELAY = 'P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ2';
const transfer = (over: Partial<TransferInfo> = {}): TransferInfo => ({
  id: 't1',
  direction: 'down',
  name: 'song.mp3',
  state: 'running',
  bytes: 10,
  total: 100,
  speed: 0,
  eta: null,
  sources: [{ host: '100.200.0.1', port: 11002 }],
  ...over,
});

describe('a Transfers row says how a download reaches its source', () => {
  it('relayed via the relay’s ID (shortened), via push, or nothing when direct', () => {
    expect(transferPeersText(transfer({ route: { kind: 'relay', via: RELAY } }))).toBe('from 100.200.0.1:11002 · relayed via P56IOI7…');
    expect(transferPeersText(transfer({ route: { kind: 'push' } }))).toBe('from 100.200.0.1:11002 · via push');
    expect(transferPeersText(transfer({ route: { kind: 'direct' } }))).toBe('from 100.200.0.1:11002');
    expect(transferPeersText(transfer())).toBe('from 100.200.0.1:11002');
  });

  it('several sources and uploads keep their wording', () => {
    const two = [
      { host: '10.0.0.1', port: 1 },
      { host: '::1', port: 2 },
    ];
    expect(transferPeersText(transfer({ sources: two, route: { kind: 'relay', via: RELAY } }))).toBe('from 2 peers · relayed via P56IOI7…');
    expect(transferPeersText(transfer({ direction: 'up', sources: two }))).toBe('to 10.0.0.1:1, [::1]:2');
    expect(transferPeersText(transfer({ direction: 'up', sources: [] }))).toBe('to a peer');
  });
});
