/**
 * How many threads onnxruntime-web's WASM backend gets (docs/viewer.md, "Keeping the page
 * responsive"). The sampler's worker and its WASM threads run flat out; the page's main thread
 * (Vue, the NGL viewer, the plots) needs a core of its own or it starves: on a 2-core machine, two
 * busy sampler threads held the main thread off for tens of seconds at a time. So one core is
 * always left to the page: cores − 1 threads, at most 4 (the ala2-sized MLP gains nothing beyond
 * that), and one thread without cross-origin isolation (no SharedArrayBuffer, no WASM threads).
 */
export const MAX_WASM_THREADS = 4

export function wasmThreads(cores: number, crossOriginIsolated: boolean): number {
  if (!crossOriginIsolated) return 1
  const n = Number.isFinite(cores) && cores >= 1 ? Math.floor(cores) : 1
  return Math.max(1, Math.min(MAX_WASM_THREADS, n - 1))
}
