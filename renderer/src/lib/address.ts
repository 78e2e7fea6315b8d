import { peerAddressSchema } from '../../../shared/contract.js';
import type { PeerAddress } from '../../../shared/types.js';

/**
 * Parse what a person types as a peer address: `host:port` or `[v6]:port`.
 * Returns the address, or a sentence saying what is wrong.
 */
export function parsePeerAddress(text: string): { ok: true; address: PeerAddress } | { ok: false; error: string } {
  const s = text.trim();
  if (s === '') return { ok: false, error: 'Type an address such as 192.168.1.20:10000.' };
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:\s[\]]+):(\d+)$/.exec(s);
  if (!m) return { ok: false, error: `“${s}” is not an address. Use host:port, for example 192.168.1.20:10000.` };
  const parsed = peerAddressSchema.safeParse({ host: m[1], port: Number(m[2]) });
  if (!parsed.success) return { ok: false, error: `The port in “${s}” must be a number from 1 to 65535.` };
  return { ok: true, address: parsed.data };
}
