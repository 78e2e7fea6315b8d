/** Human units for sizes, speeds and durations, and a transfer's route, shared by the CLI and the UI. */
import type { TransferRoute } from './types.js';

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '?';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

export function formatSpeed(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

export function formatEta(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '--';
  if (seconds < 60) return `${Math.round(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${Math.round(seconds % 60)}s`;
  return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
}

export function percent(bytes: number, total: number): number {
  return total > 0 ? Math.min(100, Math.floor((bytes / total) * 100)) : 0;
}

/**
 * How a transfer reached its source, for people: "relayed via ID" or "via
 * push"; '' when direct or not known. `shortId` shortens the relay's ID.
 */
export function formatRoute(route: TransferRoute | undefined, shortId: (id: string) => string = (id) => id): string {
  if (route?.kind === 'relay') return `relayed via ${route.via ? shortId(route.via) : 'a relay'}`;
  if (route?.kind === 'push') return 'via push';
  return '';
}
