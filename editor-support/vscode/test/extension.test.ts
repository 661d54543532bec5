// The packaged entry point (dist/extension.js, the esbuild bundle) loaded in
// plain Node against a stub of the `vscode` module, and the manifest checked
// against the files it names.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import Module = require('node:module');
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createVscodeStub, Recorded } from './vscode-stub';
import { EXTENSION_ROOT } from './textmate';

interface ExtensionModule {
  activate(context: { subscriptions: Array<{ dispose(): unknown }> }): Promise<void>;
  deactivate(): Promise<void>;
}

interface Manifest {
  name: string;
  publisher: string;
  version: string;
  main: string;
  engines: { vscode: string };
  activationEvents: string[];
  dependencies?: Record<string, string>;
  devDependencies: Record<string, string>;
  contributes: {
    languages: Array<{ id: string; aliases: string[]; extensions: string[]; configuration: string }>;
    grammars: Array<{ language: string; scopeName: string; path: string }>;
    commands: Array<{ command: string }>;
    configuration: { properties: Record<string, { default: unknown }> };
  };
}

const manifest = JSON.parse(fs.readFileSync(path.join(EXTENSION_ROOT, 'package.json'), 'utf8')) as Manifest;
const BUNDLE = path.join(EXTENSION_ROOT, manifest.main);

type Loader = (request: string, parent: unknown, isMain: boolean) => unknown;
const moduleWithLoad = Module as unknown as { _load: Loader };

/** Loads a fresh copy of the bundle with `require('vscode')` answered by the stub. */
function loadExtension(
  configuration: Record<string, unknown>,
  folders: string[] = [],
): { extension: ExtensionModule; recorded: Recorded } {
  const { vscode, recorded } = createVscodeStub(configuration, folders);
  const originalLoad = moduleWithLoad._load;
  moduleWithLoad._load = function (request, parent, isMain) {
    return request === 'vscode' ? vscode : originalLoad.call(this, request, parent, isMain);
  };
  try {
    delete require.cache[require.resolve(BUNDLE)];
    return { extension: require(BUNDLE) as ExtensionModule, recorded };
  } finally {
    moduleWithLoad._load = originalLoad;
  }
}

describe('manifest (package.json)', () => {
  test('names the language, grammar and language configuration that exist', () => {
    assert.equal(manifest.publisher, 'tandem');
    assert.equal(manifest.name, 'tandem-journeys');
    assert.deepEqual(manifest.activationEvents, ['onLanguage:tandem']);
    const [language] = manifest.contributes.languages;
    assert.ok(language);
    assert.equal(language.id, 'tandem');
    assert.deepEqual(language.extensions, ['.journey']);
    assert.ok(language.aliases.includes('Tandem'));
    assert.ok(fs.existsSync(path.join(EXTENSION_ROOT, language.configuration)));
    const [grammar] = manifest.contributes.grammars;
    assert.ok(grammar);
    assert.equal(grammar.language, 'tandem');
    assert.equal(grammar.scopeName, 'source.tandem');
    const grammarJson = JSON.parse(fs.readFileSync(path.join(EXTENSION_ROOT, grammar.path), 'utf8')) as { scopeName: string };
    assert.equal(grammarJson.scopeName, 'source.tandem');
  });

  test('declares the server settings with their defaults', () => {
    const props = manifest.contributes.configuration.properties;
    assert.equal(props['tandem.server.path']?.default, 'tandem');
    assert.deepEqual(props['tandem.server.args']?.default, ['lsp']);
    assert.equal(props['tandem.trace.server']?.default, 'off');
  });

  test('pins every dependency to an exact version', () => {
    const all = { ...manifest.dependencies, ...manifest.devDependencies };
    const loose = Object.entries(all).filter(([, v]) => !/^\d+\.\d+\.\d+$/.test(v));
    assert.deepEqual(loose, []);
  });

  test('engines.vscode is not older than @types/vscode (vsce refuses that)', () => {
    const engine = manifest.engines.vscode.replace(/^\^/, '').split('.').map(Number);
    const types = (manifest.devDependencies['@types/vscode'] ?? '').split('.').map(Number);
    assert.ok((engine[0] ?? 0) * 1000 + (engine[1] ?? 0) >= (types[0] ?? 0) * 1000 + (types[1] ?? 0), `${manifest.engines.vscode} < ${types.join('.')}`);
  });

  test('language configuration: comments, brackets and indentation rules', () => {
    const config = JSON.parse(fs.readFileSync(path.join(EXTENSION_ROOT, 'language-configuration.json'), 'utf8')) as {
      comments: { lineComment: string };
      autoClosingPairs: Array<{ open: string; close: string }>;
      wordPattern: string;
      indentationRules: { increaseIndentPattern: string; decreaseIndentPattern: string };
    };
    assert.equal(config.comments.lineComment, '#');
    assert.ok(config.autoClosingPairs.some((p) => p.open === '"' && p.close === '"'));
    const increase = new RegExp(config.indentationRules.increaseIndentPattern);
    const decrease = new RegExp(config.indentationRules.decreaseIndentPattern);
    for (const line of ['journey ebook_nurture {', '  } else {', '  wait for email_clicked up to 5 days {  # note', 'test "a { b" {']) {
      assert.ok(increase.test(line), `should indent after: ${line}`);
    }
    for (const line of ['  send x', '  notify owner "{{ lead.name }}"', '# journey x {', '  tag "{"', '  50% { send a }']) {
      assert.ok(!increase.test(line), `should not indent after: ${line}`);
    }
    assert.ok(decrease.test('  }'));
    assert.ok(decrease.test('} timeout {'));
    assert.ok(!decrease.test('  send x'));
    const word = new RegExp(config.wordPattern, 'g');
    assert.deepEqual('send ebook_delivery; wait 1_000 days; 25%'.match(word), ['send', 'ebook_delivery', 'wait', '1_000', 'days', '25%']);
  });
});

/** A minimal LSP server over stdio that writes what it sees to a JSON-lines log. */
const FAKE_SERVER = String.raw`
const fs = require('fs');
const log = process.env.FAKE_TANDEM_LOG;
const write = (o) => fs.appendFileSync(log, JSON.stringify(o) + '\n');
write({ argv: process.argv.slice(2), cwd: process.cwd() });
let buffer = Buffer.alloc(0);
const send = (message) => {
  const body = Buffer.from(JSON.stringify(message));
  process.stdout.write('Content-Length: ' + body.length + '\r\n\r\n');
  process.stdout.write(body);
};
process.stdin.on('data', (chunk) => {
  buffer = Buffer.concat([buffer, chunk]);
  for (;;) {
    const end = buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const length = Number(/Content-Length: (\d+)/i.exec(buffer.subarray(0, end).toString())[1]);
    if (buffer.length < end + 4 + length) return;
    const message = JSON.parse(buffer.subarray(end + 4, end + 4 + length).toString());
    buffer = buffer.subarray(end + 4 + length);
    write({ method: message.method });
    if (message.method === 'initialize') {
      send({ jsonrpc: '2.0', id: message.id, result: { capabilities: { textDocumentSync: 1 }, serverInfo: { name: 'fake-tandem' } } });
    } else if (message.method === 'shutdown') {
      send({ jsonrpc: '2.0', id: message.id, result: null });
    } else if (message.method === 'exit') {
      process.exit(0);
    }
  }
});
`;

function writeExecutable(file: string, body: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, body);
  fs.chmodSync(file, 0o755);
}

describe('extension entry point (dist/extension.js)', () => {
  let tmp: string;

  before(() => {
    assert.ok(fs.existsSync(BUNDLE), `${BUNDLE} is missing: run \`npm run bundle\` first`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-ext-'));
  });

  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('the bundle needs nothing but `vscode` and Node built-ins', () => {
    const source = fs.readFileSync(BUNDLE, 'utf8');
    const required = new Set([...source.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1] ?? ''));
    const builtins = new Set(Module.builtinModules);
    const external = [...required].filter((r) => r !== 'vscode' && !builtins.has(r.replace(/^node:/, '')));
    assert.deepEqual(external, []);
  });

  test('a missing server binary gives one helpful error, and highlighting-only mode', async () => {
    const { extension, recorded } = loadExtension({ 'tandem.server.path': path.join(tmp, 'no-such-tandem') });
    const context = { subscriptions: [] as Array<{ dispose(): unknown }> };
    await extension.activate(context);

    assert.equal(recorded.errors.length, 1);
    const [message] = recorded.errors;
    assert.match(message ?? '', /language server is not running/);
    assert.match(message ?? '', /no-such-tandem/);
    assert.match(message ?? '', /tandem\.server\.path/);
    assert.deepEqual(recorded.watchers, [], 'no client, so no file watchers');
    assert.ok(recorded.commands.has('tandem.restartServer'));
    assert.ok(recorded.commands.has('tandem.showOutput'));
    const declared = manifest.contributes.commands.map((c) => c.command).sort();
    assert.deepEqual([...recorded.commands.keys()].sort(), declared);
    assert.deepEqual(recorded.outputChannels.map((c) => [c.name, c.options]), [['Tandem Language Server', { log: true }]]);

    await extension.deactivate();
    context.subscriptions.forEach((d) => d.dispose());
  });

  test('starts `tandem lsp` over stdio in the workspace folder, and shuts it down on deactivate', { skip: process.platform === 'win32' }, async () => {
    const folder = path.join(tmp, 'program');
    const server = path.join(folder, 'target', 'release', 'tandem');
    const log = path.join(tmp, 'server-log.jsonl');
    writeExecutable(server, `#!${process.execPath}\n${FAKE_SERVER}`);
    process.env['FAKE_TANDEM_LOG'] = log;
    try {
      const { extension, recorded } = loadExtension({ 'tandem.server.path': '${workspaceFolder}/target/release/tandem' }, [folder]);
      await extension.activate({ subscriptions: [] });
      assert.deepEqual(recorded.errors, []);
      assert.deepEqual(recorded.watchers, ['**/*.journey', '**/templates/**', '**/tandem.toml']);
      await extension.deactivate();
      assert.equal(recorded.disposedWatchers, 3);

      // The server reads `exit` after stop() has sent it: give it a moment.
      const read = (): Array<Record<string, unknown>> =>
        fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      for (let waited = 0; waited < 5000 && !read().some((m) => m['method'] === 'exit'); waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const seen = read();
      assert.deepEqual(seen[0], { argv: ['lsp'], cwd: folder }, 'exactly `tandem lsp`, no `--stdio`');
      assert.deepEqual(
        seen.slice(1).map((m) => m['method']),
        ['initialize', 'initialized', 'shutdown', 'exit'],
      );
    } finally {
      delete process.env['FAKE_TANDEM_LOG'];
    }
  });

  test('a binary that is not a language server gets an explanation', { skip: process.platform === 'win32' }, async () => {
    const old = path.join(tmp, 'old-tandem');
    writeExecutable(old, "#!/bin/sh\necho \"error: unrecognized subcommand 'lsp'\" >&2\nexit 2\n");
    const { extension, recorded } = loadExtension({ 'tandem.server.path': old });
    await extension.activate({ subscriptions: [] });
    await extension.deactivate();
    const ours = recorded.errors.filter((e) => e.startsWith('Tandem:'));
    assert.equal(ours.length, 1, recorded.errors.join('\n'));
    assert.match(ours[0] ?? '', /did not start as a language server/);
    assert.match(ours[0] ?? '', /the `lsp` command/);
    const output = recorded.outputChannels[0]?.lines.join('\n') ?? '';
    assert.match(output, /unrecognized subcommand 'lsp'/, 'the server\'s stderr reaches the output');
    assert.equal(recorded.disposedWatchers, 3);
  });

  test('changing tandem.server.* restarts (and reports again while still missing)', async () => {
    const { extension, recorded } = loadExtension({ 'tandem.server.path': 'definitely-not-on-path-tandem' });
    await extension.activate({ subscriptions: [] });
    assert.equal(recorded.errors.length, 1);
    assert.match(recorded.errors[0] ?? '', /`definitely-not-on-path-tandem` was not found on PATH/);

    const [listener] = recorded.configurationListeners;
    assert.ok(listener);
    listener({ affectsConfiguration: (s) => s === 'editor' });
    await extension.deactivate(); // waits for queued work
    assert.equal(recorded.errors.length, 1, 'an unrelated setting does not restart');

    listener({ affectsConfiguration: (s) => s === 'tandem.server' || s === 'tandem' });
    await extension.deactivate();
    assert.equal(recorded.errors.length, 2);
  });
});
