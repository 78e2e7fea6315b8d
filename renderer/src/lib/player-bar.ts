import type { ByteSpan } from '../store/player-slice.js';

/** `75.4` → `1:15`; hours when needed. */
export function formatTime(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '0:00';
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** A span of the bar, as fractions 0…1 of its width. */
export interface BarSpan {
  from: number;
  to: number;
}

/** Verified bytes as fractions of the file, which is as close to time as a file without an index gets. */
export function byteSpansToBar(spans: readonly ByteSpan[], size: number): BarSpan[] {
  if (size <= 0) return [];
  return spans.map((s) => ({ from: s.start / size, to: s.end / size }));
}

/** The media element's buffered time ranges as fractions of its duration. */
export function timeRangesToBar(ranges: TimeRanges | undefined, duration: number): BarSpan[] {
  if (!ranges || !(duration > 0) || !Number.isFinite(duration)) return [];
  const out: BarSpan[] = [];
  for (let i = 0; i < ranges.length; i++) out.push({ from: ranges.start(i) / duration, to: Math.min(1, ranges.end(i) / duration) });
  return out;
}
