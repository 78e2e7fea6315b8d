import { describe, expect, it } from 'vitest';
import { parsePeerAddress } from '../../renderer/src/lib/address.js';

const ID = 'P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ2';

describe('the Peers view Add box', () => {
  it('takes ID@host:port (any case, dashes optional) and plain host:port', () => {
    expect(parsePeerAddress(`${ID}@192.168.1.20:10000`)).toEqual({ ok: true, address: { host: '192.168.1.20', port: 10000, id: ID } });
    expect(parsePeerAddress(` ${ID.toLowerCase().replace(/-/g, '')}@[::1]:5 `)).toEqual({
      ok: true,
      address: { host: '::1', port: 5, id: ID },
    });
    expect(parsePeerAddress('10.0.0.2:7')).toEqual({ ok: true, address: { host: '10.0.0.2', port: 7 } });
  });

  it('says what is wrong with a bad ID or address', () => {
    expect(parsePeerAddress('WRONGID@10.0.0.2:7')).toMatchObject({ ok: false, error: expect.stringMatching(/“WRONGID” is not a peer ID/) });
    expect(parsePeerAddress(`${ID}@`)).toMatchObject({ ok: false, error: expect.stringMatching(/Type an address/) });
    expect(parsePeerAddress(`${ID}@10.0.0.2:0`)).toMatchObject({ ok: false, error: expect.stringMatching(/port/) });
  });
});
