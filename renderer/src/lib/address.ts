import { peerAddressSchema } from '../../../shared/contract.js';
import { PEER_ID_PATTERN, type PeerAddress } from '../../../shared/types.js';

/**
 * Parse what a person types as a peer address: `host:port` or `[v6]:port`,
 * optionally after `ID@` (then only the peer that proves that ID is accepted
 * there; its check characters are verified by the peer). Returns the
 * address, or a sentence saying what is wrong.
 */
export function parsePeerAddress(text: string): { ok: true; address: PeerAddress } | { ok: false; error: string } {
  const whole = text.trim();
  const at = whole.indexOf('@');
  let id: string | undefined;
  if (at >= 0) {
    id = whole
      .slice(0, at)
      .toUpperCase()
      .replace(/[\s-]/g, '')
      .replace(/(.{7})(?=.)/g, '$1-');
    if (!PEER_ID_PATTERN.test(id))
      return { ok: false, error: `“${whole.slice(0, at)}” is not a peer ID. One looks like ABCDEFG-HIJKLMN-… (eight groups of seven).` };
  }
  const s = at >= 0 ? whole.slice(at + 1) : whole;
  if (s === '') return { ok: false, error: 'Type an address such as 192.168.1.20:10000.' };
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:\s[\]]+):(\d+)$/.exec(s);
  if (!m) return { ok: false, error: `“${s}” is not an address. Use host:port, for example 192.168.1.20:10000.` };
  const parsed = peerAddressSchema.safeParse({ host: m[1], port: Number(m[2]) });
  if (!parsed.success) return { ok: false, error: `The port in “${s}” must be a number from 1 to 65535.` };
  return { ok: true, address: id ? { ...parsed.data, id } : parsed.data };
}
