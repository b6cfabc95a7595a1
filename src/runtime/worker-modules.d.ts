// Modules wrangler's bundler provides to the Worker: wasm files become compiled modules.
declare module 'sql.js/dist/sql-wasm-browser.wasm' {
  const module: WebAssembly.Module;
  export default module;
}
declare module 'sql.js/dist/sql-wasm-browser.js' {
  const init: unknown;
  export default init;
}
