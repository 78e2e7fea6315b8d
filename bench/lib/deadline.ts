/**
 * Bound a benchmark: if it still runs after `ms`, say so, run `cleanup`
 * (removing its temp folder, say) and exit with code 2, even when a peer or
 * a child hangs. The timer does not keep the process alive; `cancel` stops it.
 */
export function exitAfter(ms: number, what: string, cleanup?: () => void | Promise<void>): { cancel: () => void } {
  const timer = setTimeout(() => {
    console.error(`${what}: time limit reached, stopping`);
    void Promise.resolve()
      .then(cleanup)
      .catch(() => {})
      .finally(() => process.exit(2));
  }, ms);
  timer.unref();
  return { cancel: () => clearTimeout(timer) };
}
