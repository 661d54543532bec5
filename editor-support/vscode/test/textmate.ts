// Loads syntaxes/tandem.tmLanguage.json into vscode-textmate with the
// Oniguruma WebAssembly build, the same engine VS Code uses.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as oniguruma from 'vscode-oniguruma';
import * as textmate from 'vscode-textmate';

/** The extension folder (this file runs from out/test/). */
export const EXTENSION_ROOT = path.resolve(__dirname, '..', '..');
/** The Tandem repository (the extension lives in editor-support/vscode/). */
export const REPO_ROOT = path.resolve(EXTENSION_ROOT, '..', '..');
export const GRAMMAR_PATH = path.join(EXTENSION_ROOT, 'syntaxes', 'tandem.tmLanguage.json');

export interface Token {
  text: string;
  start: number;
  end: number;
  scopes: string[];
}

export interface TokenizedLine {
  lineNumber: number; // 1-based
  text: string;
  tokens: Token[];
}

export interface TokenizedFile {
  file: string;
  lines: TokenizedLine[];
  /** Depth of the rule stack after the last line: 1 when every block, bracket and string is closed. */
  finalDepth: number;
  stoppedEarly: number[];
}

let onigLib: Promise<textmate.IOnigLib> | undefined;

export function loadOniguruma(): Promise<textmate.IOnigLib> {
  if (onigLib === undefined) {
    const wasmPath = path.join(path.dirname(require.resolve('vscode-oniguruma')), 'onig.wasm');
    const wasm = fs.readFileSync(wasmPath);
    const buffer = wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength);
    onigLib = oniguruma.loadWASM(buffer).then(() => ({
      createOnigScanner: (patterns: string[]) => new oniguruma.OnigScanner(patterns),
      createOnigString: (text: string) => new oniguruma.OnigString(text),
    }));
  }
  return onigLib;
}

export async function loadGrammar(): Promise<textmate.IGrammar> {
  const registry = new textmate.Registry({
    onigLib: loadOniguruma(),
    loadGrammar: async (scopeName: string) => {
      if (scopeName !== 'source.tandem') {
        return null;
      }
      return textmate.parseRawGrammar(fs.readFileSync(GRAMMAR_PATH, 'utf8'), GRAMMAR_PATH);
    },
  });
  const grammar = await registry.loadGrammar('source.tandem');
  if (grammar === null) {
    throw new Error('source.tandem did not load');
  }
  return grammar;
}

export function tokenize(grammar: textmate.IGrammar, text: string, file = '<text>'): TokenizedFile {
  let state = textmate.INITIAL;
  const lines: TokenizedLine[] = [];
  const stoppedEarly: number[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    // A generous time limit: a line that needs it points at a catastrophic regex.
    const result = grammar.tokenizeLine(line, state, 1000);
    if (result.stoppedEarly) {
      stoppedEarly.push(index + 1);
    }
    state = result.ruleStack;
    lines.push({
      lineNumber: index + 1,
      text: line,
      tokens: result.tokens.map((t) => ({
        text: line.slice(t.startIndex, Math.min(t.endIndex, line.length)),
        start: t.startIndex,
        end: Math.min(t.endIndex, line.length),
        scopes: t.scopes,
      })),
    });
  });
  return { file, lines, finalDepth: state.depth, stoppedEarly };
}

/** All `.journey` files under a folder, in byte order of their relative path (program order). */
export function journeyFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string): void => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) {
        walk(full);
      } else if (entry.isFile() && entry.name.endsWith('.journey')) {
        found.push(full);
      }
    }
  };
  walk(dir);
  return found.sort((a, b) => Buffer.compare(Buffer.from(path.relative(dir, a)), Buffer.from(path.relative(dir, b))));
}

/** Every regular expression in a grammar (match, begin, end, while), with where it is. */
export function grammarRegexes(node: unknown, where = '$'): Array<{ where: string; source: string }> {
  const out: Array<{ where: string; source: string }> = [];
  if (Array.isArray(node)) {
    node.forEach((item, i) => out.push(...grammarRegexes(item, `${where}[${i}]`)));
  } else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (['match', 'begin', 'end', 'while'].includes(key) && typeof value === 'string') {
        out.push({ where: `${where}.${key}`, source: value });
      } else {
        out.push(...grammarRegexes(value, `${where}.${key}`));
      }
    }
  }
  return out;
}

export function describeToken(file: string, line: TokenizedLine, token: Token): string {
  return `${path.basename(file)}:${line.lineNumber}:${token.start + 1} ${JSON.stringify(token.text)} [${token.scopes.join(' ')}]`;
}
