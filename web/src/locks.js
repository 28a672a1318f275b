// Mutual exclusion across the tabs of one device: Web Locks, else (no navigator.locks,
// e.g. under Node) a promise chain within this page.
const chains = new Map();

/** Run `fn` while holding the lock `name`; returns its result. */
export function withLock(name, fn) {
  if (globalThis.navigator?.locks?.request) return navigator.locks.request(name, { mode: "exclusive" }, fn);
  const previous = chains.get(name) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  chains.set(name, run.catch(() => undefined));
  return run;
}
