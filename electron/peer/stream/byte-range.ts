/**
 * Parsing of the HTTP `Range` request header (RFC 9110 §14.1.2, formerly
 * RFC 7233) for one representation of a known size.
 *
 * Choices, all allowed by the RFC:
 * - A header that is absent, malformed, or in a unit other than `bytes` is
 *   ignored: the whole representation is sent with 200.
 * - Several ranges (`bytes=0-1,5-9`): the first satisfiable one is sent as a
 *   single-part 206, whose `Content-Range` tells the client exactly what it
 *   got. No multipart/byteranges: media players never ask for it, and it
 *   would let one request fan out into many reads of unverified data.
 * - No satisfiable range at all (every start at or past the end, `bytes=-0`,
 *   or any range of an empty file): 416.
 */

/** A half-open byte interval `[start, end)`. */
export interface ByteRange {
  start: number;
  end: number;
}

type RangeRequest = { kind: 'full' } | { kind: 'partial'; range: ByteRange } | { kind: 'unsatisfiable' };

/** Ranges looked at in one header; the rest are ignored (bounded work per request). */
const MAX_RANGE_SPECS = 64;

/** A decimal position; numbers beyond 2^53 become Infinity, which the checks below handle. */
function position(digits: string): number {
  return digits.length > 15 ? Infinity : Number(digits);
}

type Spec = { first: number; last: number } | { suffix: number };

function parseSpec(text: string): Spec | undefined {
  const m = /^(\d*)-(\d*)$/.exec(text);
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') return { suffix: position(m[2]!) };
  const first = position(m[1]!);
  const last = m[2] === '' ? Infinity : position(m[2]!);
  // RFC 9110: a last-pos below the first-pos makes the whole header invalid.
  if (last < first) return undefined;
  return { first, last };
}

/** The bytes a spec selects in a representation of `size` bytes, or undefined if it selects none. */
function resolveSpec(spec: Spec, size: number): ByteRange | undefined {
  if ('suffix' in spec) {
    if (spec.suffix === 0 || size === 0) return undefined;
    return { start: Math.max(0, size - spec.suffix), end: size };
  }
  if (spec.first >= size) return undefined;
  return { start: spec.first, end: Math.min(spec.last + 1, size) };
}

/** What a `Range` header asks of a representation of `size` bytes. */
export function parseRangeHeader(header: string | null | undefined, size: number): RangeRequest {
  if (header === null || header === undefined) return { kind: 'full' };
  const eq = header.indexOf('=');
  if (eq < 0 || header.slice(0, eq).trim().toLowerCase() !== 'bytes') return { kind: 'full' };
  const items = header
    .slice(eq + 1)
    .split(',')
    .map((s) => s.trim())
    // The list grammar allows empty elements ("bytes=0-1,,5-9").
    .filter((s) => s !== '')
    .slice(0, MAX_RANGE_SPECS);
  if (items.length === 0) return { kind: 'full' };
  const specs: Spec[] = [];
  for (const item of items) {
    const spec = parseSpec(item);
    if (!spec) return { kind: 'full' };
    specs.push(spec);
  }
  for (const spec of specs) {
    const range = resolveSpec(spec, size);
    if (range) return { kind: 'partial', range };
  }
  return { kind: 'unsatisfiable' };
}
