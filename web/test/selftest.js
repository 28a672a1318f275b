// The selftest entry of the bundle: the vectors' checks and the benchmark, for tests
// and bench/web.py to run in a browser.
export { runVectors } from "./vectors.js";
export { benchmark } from "./bench.js";
