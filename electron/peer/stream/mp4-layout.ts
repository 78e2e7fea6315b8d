/**
 * Where an MP4's `moov` index sits, from the first bytes of the file. A
 * player needs `moov` before it can show anything; files written without
 * "faststart" put it after the media data (`mdat`), at the end.
 */

/** Top-level boxes looked at before giving up (ftyp, free, wide, mdat… come first). */
const MAX_BOXES = 16;

/** Names of the ISO base media (MP4-family) files whose index may sit at the end. */
const MP4_FAMILY = /\.(mp4|m4v|m4a|mov|3gp)$/i;

/** An MP4-family file (by name): its `moov` may be at the end, so its tail is fetched with its first piece. */
export function isMp4Family(name: string): boolean {
  return MP4_FAMILY.test(name);
}

/**
 * Where `moov` is, from the head of a file of `size` bytes: `start` when it
 * comes before `mdat` (faststart), `{ at }` with the byte offset where the
 * data after `mdat` begins when it follows `mdat`, undefined when this is not
 * an MP4 or the head is too short to tell.
 */
export function moovPlacement(head: Buffer, size: number): 'start' | { at: number } | undefined {
  if (head.length < 8 || head.toString('latin1', 4, 8) !== 'ftyp') return undefined;
  let pos = 0;
  for (let n = 0; n < MAX_BOXES && pos + 8 <= head.length; n++) {
    const size32 = head.readUInt32BE(pos);
    const type = head.toString('latin1', pos + 4, pos + 8);
    if (type === 'moov') return 'start';
    let boxSize: number;
    if (size32 === 1) {
      if (pos + 16 > head.length) return undefined;
      boxSize = Number(head.readBigUInt64BE(pos + 8));
    } else if (size32 === 0)
      return undefined; // the box runs to the end of the file: nothing after it
    else boxSize = size32;
    if (boxSize < 8) return undefined;
    const next = pos + boxSize;
    if (type === 'mdat') return next < size ? { at: next } : undefined;
    pos = next;
  }
  return undefined;
}

/**
 * The byte offset where the data after `mdat` begins (where `moov` is) when
 * `moov` follows `mdat`; undefined when `moov` comes first, when this is not
 * an MP4, or when the head is too short to tell.
 */
export function moovAfterMdat(head: Buffer, size: number): number | undefined {
  const p = moovPlacement(head, size);
  return typeof p === 'object' ? p.at : undefined;
}
