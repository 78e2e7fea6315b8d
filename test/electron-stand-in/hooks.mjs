// Module-resolution hook: `electron` resolves to the recording stand-in
// (electron.mjs) instead of the npm package, which only prints the path of a
// binary that cannot exist here. Everything else resolves as usual.
const STAND_IN = new URL('./electron.mjs', import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'electron' || specifier === 'electron/main') return { url: STAND_IN, shortCircuit: true };
  return nextResolve(specifier, context);
}
