import { DEFAULT_LISTENER_LIMITS, type ListenerLimits } from './listener.js';
import { DEFAULT_LIMITS, type ConnectionLimits } from './v2/connection.js';

/** Tunables that tests and benchmarks change; defaults suit real use. */
export interface PeerTuning {
  connection: ConnectionLimits;
  listener: ListenerLimits;
  /** How often the peer tops up its neighbour connections. */
  dialIntervalMs: number;
  /** Neighbour connections accepted from others (on top of our own outbound cap). */
  maxInboundNeighbours: number;
  maxInboundNeighboursPerIp: number;
  /** Duplicate table bounds. */
  seenEntries: number;
  seenTtlMs: number;
  /** How long a search or discovery accepts v1 results. */
  v1ResultWindowMs: number;
  /** Connect-backs per target host (any port): per second, burst. */
  connectBackRate: [number, number];
  /** Connect-backs asked for by one requesting host: per second, burst. */
  connectBackPerRequester: [number, number];
  /** Results accepted for one v1 search or discovery we sent. */
  v1ResultsPerRequest: number;
  /** Copies of v1 floods forwarded for one source host: per second, burst. */
  v1ForwardPerSource: [number, number];
  /** A remote listing stops with an error past this many files, or this many bytes. */
  listingMaxFiles: number;
  listingMaxBytes: number;
  /**
   * A second link claiming a neighbour's ID replaces the first only while the first is
   * this young and from the same host (two peers dialling each other at once).
   */
  duplicateGraceMs: number;
  handshakeTimeoutMs: number;
}

export const DEFAULT_TUNING: PeerTuning = {
  connection: DEFAULT_LIMITS,
  listener: DEFAULT_LISTENER_LIMITS,
  dialIntervalMs: 2000,
  maxInboundNeighbours: 32,
  maxInboundNeighboursPerIp: 16,
  seenEntries: 100_000,
  seenTtlMs: 10 * 60_000,
  v1ResultWindowMs: 60_000,
  connectBackRate: [1, 5],
  connectBackPerRequester: [2, 10],
  v1ResultsPerRequest: 32,
  v1ForwardPerSource: [10, 20],
  listingMaxFiles: 100_000,
  listingMaxBytes: 32 * 1024 * 1024,
  duplicateGraceMs: 10_000,
  handshakeTimeoutMs: 5000,
};
