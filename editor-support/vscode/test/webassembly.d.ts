// vscode-oniguruma's typings name two WebAssembly types, which TypeScript only
// declares in the DOM lib. This project targets Node without the DOM lib, so
// the two names are declared here (loosely: the tests never use them).
declare namespace WebAssembly {
  type ImportValue = unknown;
  interface WebAssemblyInstantiatedSource {
    instance: unknown;
    module: unknown;
  }
}
