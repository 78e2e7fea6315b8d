import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Bitfield } from '../electron/peer/transfers/pieces.js';
import { sha256File, transferEnded, uploaderAndDownloader, waitFor } from './helpers/harness.js';
import { readResumeState } from './transfers-state-file.js';
import { cleanupAfterEach } from './helpers/cleanup.js';

const MiB = 1 << 20;
const { peers } = cleanupAfterEach();

describe('disk full', () => {
  // No tmpfs mount here: the ENOSPC is injected into FileHandle.write and writev, the calls that write pieces into the .part.
  it('stops with a clear error, keeps the partial data, and resumes once there is space', async () => {
    const size = 8 * MiB;
    const { root, sha256, up, down } = await uploaderAndDownloader(size, { up: { maxUploadRate: 4 * MiB } });
    peers.push(up, down);
    const probe = await fs.promises.open(path.join(root, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as {
      write: (...a: unknown[]) => Promise<unknown>;
      writev: (...a: unknown[]) => Promise<unknown>;
    };
    await probe.close();
    const realWrite = proto.write;
    const realWritev = proto.writev;
    try {
      const t = down.peer.download({ name: 'movie.mp4', sha256, sources: [{ host: '127.0.0.1', port: up.port }] });
      await waitFor('2 MiB', () => (down.peer.transfersList().find((x) => x.id === t.id)?.bytes ?? 0) >= 2 * MiB);
      proto.write = proto.writev = () =>
        Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
      const failed = await waitFor('the download to fail', () => {
        const x = down.peer.transfersList().find((y) => y.id === t.id)!;
        return x.state === 'failed' ? x : undefined;
      });
      expect(failed.error).toMatch(/disk full/);
      expect(down.logs.some((l) => l.includes('disk full'))).toBe(true);
      const part = path.join(down.downloads, 'movie.mp4.part');
      expect(fs.existsSync(part)).toBe(true);
      const state = await readResumeState(down.data);
      const kept = new Bitfield(state.pieces.length, state.done).done;
      expect(kept).toBeGreaterThanOrEqual(2);
      expect(fs.existsSync(path.join(down.downloads, 'movie.mp4'))).toBe(false);

      proto.write = realWrite;
      proto.writev = realWritev;
      const sentBefore = up.peer.statsSnapshot().bytesUp;
      down.peer.resumeTransfer(t.id);
      const done = await transferEnded(down.peer, t.id, 'the download to finish');
      expect(done.state, done.error).toBe('done');
      expect(await sha256File(done.path!)).toBe(sha256);
      expect(up.peer.statsSnapshot().bytesUp - sentBefore).toBeLessThanOrEqual(size - kept * MiB + MiB);
    } finally {
      proto.write = realWrite;
      proto.writev = realWritev;
    }
  }, 30_000);
});
