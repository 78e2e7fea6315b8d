import { DEFAULT_LISTENER_LIMITS, type ListenerLimits } from '../../electron/peer/listener.js';

/**
 * Listener limits for load runs on one loopback address: every simulated peer
 * shares 127.0.0.1, so the per-IP caps and bans that guard a real peer are lifted.
 */
export const LOOPBACK_LOAD_LISTENER_LIMITS: ListenerLimits = {
  ...DEFAULT_LISTENER_LIMITS,
  connectsPerSecondPerIp: 1e5,
  connectBurstPerIp: 1e5,
  maxConnectionsPerIp: 4096,
  maxConnections: 4096,
};
