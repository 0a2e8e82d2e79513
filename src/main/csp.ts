/**
 * The renderer's Content-Security-Policy, sent as a response header by both the Electron app://
 * handler and browser mode (a header, unlike the <meta> tag in index.html, also covers
 * frame-ancestors and cannot be removed by anything injected into the page). The <meta> tag in
 * src/renderer/index.html carries the same source lists; the header adds what a meta tag cannot.
 * Plain module: no Electron import, unit-tested in Node.
 */
export const RENDERER_CSP_DIRECTIVES: ReadonlyArray<readonly [string, string]> = [
  ['default-src', "'self'"],
  // onnxruntime-web compiles WebAssembly; no JavaScript eval
  ['script-src', "'self' 'wasm-unsafe-eval'"],
  ['style-src', "'self' 'unsafe-inline'"],
  ['img-src', "'self' data: blob:"],
  ['worker-src', "'self' blob:"],
  ['connect-src', "'self' blob: data:"],
  ['font-src', "'self' data:"],
  ['object-src', "'none'"],
  ['base-uri', "'none'"],
  ['form-action', "'none'"],
  ['frame-ancestors', "'none'"],
]

export const RENDERER_CSP = RENDERER_CSP_DIRECTIVES.map(([k, v]) => `${k} ${v}`).join('; ')
