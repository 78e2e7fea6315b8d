/**
 * LAN discovery in the network lab: three peers, each in its own namespace on
 * one bridge, find each other by DNS-SD/mDNS with nothing typed. Needs root and
 * `ip netns`; elsewhere the tests are skipped and say why.
 */
import { execFileSync, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from './lab/agents.js';
import { cleanupStaleLabs, LAB_PREFIX, Lab, labUnavailableReason } from './lab/lab.js';
import { addLan, stopLab } from './lab/topology.js';

const unavailable = labUnavailableReason();
const title = unavailable ? `network lab: LAN (skipped: ${unavailable})` : 'network lab: LAN';

describe.skipIf(unavailable !== null)(title, () => {
  let lab: Lab;
  const ids = ['LANPEER1', 'LANPEER2', 'LANPEER3'];
  let agents: Agent[] = [];

  beforeAll(async () => {
    lab = await Lab.create();
    await addLan(lab, 3);
  }, 30_000);

  afterAll(() => stopLab(lab, agents), 30_000);

  it('three peers on one bridge find each other by mDNS within 3 s of starting', async () => {
    agents = ids.map((peerId, i) => startAgent(lab, `h${i}`, { kind: 'lan', peerId, port: 7001 + i }));
    const started = await Promise.all(agents.map((a) => a.waitFor((e) => e.event === 'started', 20_000, 'start')));
    for (const [i, a] of agents.entries()) {
      for (const [j, id] of ids.entries()) {
        if (i === j) continue;
        const found = await a.waitFor((e) => e.event === 'found' && (e.peer as { id: string }).id === id, 5000, `found ${id}`);
        // Both ends must be up before X can find Y: count from the later start.
        const ms = found.t - Math.max(started[i]!.t, started[j]!.t);
        expect(ms, `${ids[i]} found ${id} after ${ms} ms`).toBeLessThanOrEqual(3000);
        expect(found.peer).toMatchObject({ id, host: `192.168.7.${11 + j}`, port: 7001 + j });
      }
      // Never itself.
      expect(a.events.some((e) => e.event === 'found' && (e.peer as { id: string }).id === ids[i])).toBe(false);
    }
  }, 60_000);

  it('a peer that stops says goodbye and the others drop it', async () => {
    await agents[2]!.stop();
    for (const a of agents.slice(0, 2)) {
      await a.waitFor((e) => e.event === 'lost' && (e.peer as { id: string }).id === ids[2], 5000, `lost ${ids[2]}`);
    }
  }, 30_000);
});

describe.skipIf(unavailable !== null)(`${title}: clean-up`, () => {
  it('removes a crashed run’s namespaces (dead creator pid) and leaves live ones', async () => {
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => dead.once('exit', r));
    const stale = `${LAB_PREFIX}${dead.pid}-deadbeef-sw`;
    const live = `${LAB_PREFIX}${process.pid}-cafe01-sw`;
    execFileSync('ip', ['netns', 'add', stale]);
    execFileSync('ip', ['netns', 'add', live]);
    try {
      const removed = await cleanupStaleLabs();
      expect(removed).toContain(stale);
      const left = execFileSync('ip', ['netns', 'list']).toString();
      expect(left).not.toContain(stale);
      expect(left).toContain(live);
    } finally {
      execFileSync('ip', ['netns', 'del', live]);
      try {
        execFileSync('ip', ['netns', 'del', stale], { stdio: 'ignore' });
      } catch {
        /* removed by the clean-up, as it should be */
      }
    }
  });
});
