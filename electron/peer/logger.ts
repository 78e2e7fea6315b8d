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

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r' };

/**
 * Text safe to print on a terminal: C0 controls (except tab), DEL, C1 controls
 * and bidi overrides become visible escapes (`\x1b`, `\u202e`), so names and
 * messages from the network cannot move the cursor, retitle the window, clear
 * the screen or start a fake line. Idempotent.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const code = c.charCodeAt(0);
    return NAMED[c] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
  });
}

/** Log lines on stderr, escaped with {@link printable} (they carry text from the network). */
export function consoleLogger(prefix = ''): Logger {
  return {
    info: (m) => console.error(`${prefix}${printable(m)}`),
    warn: (m) => console.error(`${prefix}warn: ${printable(m)}`),
    error: (m) => console.error(`${prefix}error: ${printable(m)}`),
  };
}
