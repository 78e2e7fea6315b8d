import { describe, expect, it } from 'vitest';
import type { TransferInfo } from '../shared/types.js';
import { uploaderAndDownloader, waitFor } from './helpers/harness.js';
import { cleanupAfterEach } from './helpers/cleanup.js';

const MiB = 1 << 20;
const { peers } = cleanupAfterEach();

describe('progress events', () => {
  it('are throttled, sent only on change, and carry bytes, total, speed, ETA and sources', async () => {
    const size = 10 * MiB;
    // 2 MiB/s: about five seconds, with hundreds of chunks arriving per second.
    const { sha256, up, down } = await uploaderAndDownloader(size, { up: { maxUploadRate: 2 * MiB } });
    peers.push(up, down);
    const source = { host: '127.0.0.1', port: up.port };
    const events: { at: number; t: TransferInfo }[] = [];
    let id = '';
    down.peer.events.on('transfer:progress', (t) => {
      if (t.id === id) events.push({ at: performance.now(), t });
    });
    const t0 = performance.now();
    id = down.peer.download({ name: 'movie.mp4', sha256, size, sources: [source] }).id;

    // Paused, nothing changes: one event for the pause, then silence.
    await waitFor('a third of the file', () => (down.peer.transfersList().find((x) => x.id === id)?.bytes ?? 0) > size / 3);
    down.peer.pauseTransfer(id);
    // Once the paused run has ended, nothing may arrive: five publishing passes (over a second) stay silent.
    await down.peer.transfers.settled(id);
    const atPause = events.length;
    await down.peer.transfers.publisher.ticks(5);
    expect(events.length).toBe(atPause);
    expect(events.at(-1)!.t.state).toBe('paused');
    down.peer.resumeTransfer(id);

    const done = await waitFor(
      'the download',
      () => {
        const x = down.peer.transfersList().find((y) => y.id === id);
        return x?.state === 'done' || x?.state === 'failed' ? x : undefined;
      },
      30_000,
    );
    expect(done.state, done.error).toBe('done');
    const seconds = (performance.now() - t0) / 1000;

    // Throttled: a few per second at most, in total and in any one second.
    expect(events.length).toBeGreaterThan(5);
    expect(events.length / seconds).toBeLessThanOrEqual(5);
    for (let i = 0; i < events.length; i++) {
      const inOneSecond = events.filter((e) => e.at >= events[i]!.at && e.at < events[i]!.at + 1000).length;
      expect(inOneSecond).toBeLessThanOrEqual(6);
    }
    // Only on change: no two events in a row say the same thing.
    const key = (t: TransferInfo) => `${t.state}:${t.bytes}:${t.total}:${t.queuePosition ?? ''}`;
    for (let i = 1; i < events.length; i++) expect(key(events[i]!.t)).not.toBe(key(events[i - 1]!.t));

    // What they carry.
    const running = events.map((e) => e.t).filter((t) => t.state === 'running');
    expect(running.length).toBeGreaterThan(3);
    for (const t of running) {
      expect(t.total).toBe(size);
      expect(t.bytes).toBeGreaterThanOrEqual(0);
      expect(t.bytes).toBeLessThanOrEqual(size);
      expect(t.speed).toBeGreaterThanOrEqual(0);
      expect(t.sources).toEqual([source]);
      expect(t.eta === null || t.eta >= 0).toBe(true);
    }
    // Bytes only grow while running, and a settled transfer reports its speed and an ETA that adds up.
    for (let i = 1; i < running.length; i++) expect(running[i]!.bytes).toBeGreaterThanOrEqual(running[i - 1]!.bytes);
    const late = running.filter((t) => t.speed > 0 && t.eta !== null);
    expect(late.length).toBeGreaterThan(0);
    for (const t of late) {
      expect(t.speed).toBeLessThan(4 * MiB);
      expect(Math.abs(t.eta! - (t.total - t.bytes) / t.speed)).toBeLessThanOrEqual(1);
    }
  }, 40_000);
});
