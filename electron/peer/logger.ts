import type { LogLine } from '../../shared/types.js';

/** The peer's logger: injected, so tests and front ends decide where lines go. */
export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** A logger that forwards each line to a callback (the peer turns lines into `log` events). */
export function callbackLogger(sink: (line: LogLine) => void, also?: Logger): Logger {
  const at = (level: LogLine['level']) => (msg: string) => {
    sink({ level, msg, time: Date.now() });
    also?.[level](msg);
  };
  return { info: at('info'), warn: at('warn'), error: at('error') };
}

export function consoleLogger(prefix = ''): Logger {
  return {
    info: (m) => console.error(`${prefix}${m}`),
    warn: (m) => console.error(`${prefix}warn: ${m}`),
    error: (m) => console.error(`${prefix}error: ${m}`),
  };
}
