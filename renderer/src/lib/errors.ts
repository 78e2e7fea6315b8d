/**
 * Turn an error from the peer or the transport into a sentence for a person.
 * The peer's messages are already written for people; this only strips the
 * technical prefixes and fills in a fallback.
 */
export function humanError(err: unknown, doing: string): string {
  const raw = err instanceof Error ? err.message : typeof err === 'string' ? err : '';
  let msg = raw
    .replace(/^Error invoking remote method '[^']*': (Error: )?/, '')
    .replace(/^Error: /, '')
    .trim();
  if (/^invalid arguments for /.test(msg))
    msg = `MacTella did not accept that request (${msg.replace(/^invalid arguments for [^:]+: /, '')}).`;
  if (/ECONNREFUSED/.test(msg)) msg = 'The peer refused the connection. Is it running, and is the address right?';
  if (/ETIMEDOUT|timed out/i.test(msg)) msg = 'The peer did not answer in time.';
  if (/EHOSTUNREACH|ENETUNREACH/.test(msg)) msg = 'That address cannot be reached from here.';
  return `Could not ${doing}. ${sentence(msg || 'Something went wrong')}`;
}

/** Capitalised and ending in a full stop: `every source is gone` → `Every source is gone.` */
export function sentence(text: string): string {
  const t = text.trim();
  if (t === '') return t;
  const s = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?…]$/.test(s) ? s : `${s}.`;
}
