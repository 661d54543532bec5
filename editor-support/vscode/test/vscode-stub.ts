// A stand-in for the `vscode` module, enough to load dist/extension.js in
// plain Node and drive activate()/deactivate() without downloading VS Code.
//
// Every property that the stub does not define is a "deep" proxy: callable,
// constructible, and returning more of the same, so that the bundled
// vscode-languageclient can register its features against it.

export interface Recorded {
  errors: string[];
  commands: Map<string, (...args: unknown[]) => unknown>;
  executed: Array<{ command: string; args: unknown[] }>;
  watchers: string[];
  disposedWatchers: number;
  outputChannels: Array<{ name: string; options: unknown; lines: string[] }>;
  configuration: Record<string, unknown>;
  configurationListeners: Array<(event: { affectsConfiguration(section: string): boolean }) => void>;
}

export function deepProxy(name: string): unknown {
  const cache = new Map<PropertyKey, unknown>();
  const target = function () {
    /* stub */
  };
  return new Proxy(target, {
    get(_t, prop) {
      if (prop === 'then') {
        return undefined; // not a thenable
      }
      if (prop === Symbol.toPrimitive) {
        return () => `[stub ${name}]`;
      }
      if (prop === Symbol.iterator) {
        return function* () {
          /* empty */
        };
      }
      if (prop === 'prototype') {
        return Object.prototype;
      }
      if (!cache.has(prop)) {
        cache.set(prop, deepProxy(`${name}.${String(prop)}`));
      }
      return cache.get(prop);
    },
    apply() {
      return deepProxy(`${name}()`);
    },
    construct() {
      return deepProxy(`new ${name}`) as object;
    },
  });
}

class Disposable {
  static from(...items: Array<{ dispose(): unknown }>): Disposable {
    return new Disposable(() => items.forEach((i) => i.dispose()));
  }
  constructor(private readonly fn: () => unknown = () => undefined) {}
  dispose(): void {
    this.fn();
  }
}

class EventEmitter<T> {
  private listeners: Array<(e: T) => unknown> = [];
  event = (listener: (e: T) => unknown): Disposable => {
    this.listeners.push(listener);
    return new Disposable(() => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    });
  };
  fire(e: T): void {
    this.listeners.forEach((l) => l(e));
  }
  dispose(): void {
    this.listeners = [];
  }
}

const noEvent = (): Disposable => new Disposable();

export function createVscodeStub(
  configuration: Record<string, unknown>,
  folders: string[] = [],
): { vscode: unknown; recorded: Recorded } {
  const recorded: Recorded = {
    errors: [],
    commands: new Map(),
    executed: [],
    watchers: [],
    disposedWatchers: 0,
    outputChannels: [],
    configuration,
    configurationListeners: [],
  };

  const outputChannel = (name: string, options: unknown): unknown => {
    const entry = { name, options, lines: [] as string[] };
    recorded.outputChannels.push(entry);
    const log = (level: string) => (message: unknown) => entry.lines.push(`[${level}] ${String(message)}`);
    return {
      name,
      logLevel: 2,
      onDidChangeLogLevel: noEvent,
      append: (v: string) => entry.lines.push(v),
      appendLine: (v: string) => entry.lines.push(v),
      replace: () => undefined,
      clear: () => undefined,
      show: () => undefined,
      hide: () => undefined,
      dispose: () => undefined,
      trace: log('trace'),
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
    };
  };

  const own: Record<string, unknown> = {
    version: '1.95.0',
    Disposable,
    EventEmitter,
    window: new Proxy(
      {
        createOutputChannel: outputChannel,
        showErrorMessage: async (message: string) => {
          recorded.errors.push(message);
          return undefined;
        },
        showWarningMessage: async () => undefined,
        showInformationMessage: async () => undefined,
        visibleTextEditors: [],
        activeTextEditor: undefined,
        onDidChangeVisibleTextEditors: noEvent,
        onDidChangeActiveTextEditor: noEvent,
        tabGroups: { all: [], onDidChangeTabs: noEvent },
      },
      { get: (t, p: string) => (p in t ? (t as Record<string, unknown>)[p] : deepProxy(`window.${p}`)) },
    ),
    commands: new Proxy(
      {
        registerCommand: (command: string, handler: (...args: unknown[]) => unknown) => {
          recorded.commands.set(command, handler);
          return new Disposable(() => recorded.commands.delete(command));
        },
        executeCommand: async (command: string, ...args: unknown[]) => {
          recorded.executed.push({ command, args });
          return undefined;
        },
      },
      { get: (t, p: string) => (p in t ? (t as Record<string, unknown>)[p] : deepProxy(`commands.${p}`)) },
    ),
    workspace: new Proxy(
      {
        workspaceFolders:
          folders.length === 0
            ? undefined
            : folders.map((fsPath, index) => ({
                index,
                name: fsPath.split(/[\\/]/).pop() ?? fsPath,
                uri: { scheme: 'file', fsPath, path: fsPath, toString: () => `file://${fsPath}` },
              })),
        textDocuments: [],
        notebookDocuments: [],
        getConfiguration: (section?: string) => ({
          get: (key: string, fallback?: unknown) => {
            const full = section !== undefined && section !== '' ? `${section}.${key}` : key;
            return full in recorded.configuration ? recorded.configuration[full] : fallback;
          },
          has: () => false,
          inspect: () => undefined,
          update: async () => undefined,
        }),
        onDidChangeConfiguration: (listener: (event: { affectsConfiguration(section: string): boolean }) => void) => {
          recorded.configurationListeners.push(listener);
          return new Disposable();
        },
        createFileSystemWatcher: (glob: string) => {
          recorded.watchers.push(glob);
          return {
            onDidCreate: noEvent,
            onDidChange: noEvent,
            onDidDelete: noEvent,
            ignoreCreateEvents: false,
            ignoreChangeEvents: false,
            ignoreDeleteEvents: false,
            dispose: () => {
              recorded.disposedWatchers += 1;
            },
          };
        },
      },
      { get: (t, p: string) => (p in t ? (t as Record<string, unknown>)[p] : p.startsWith('on') ? noEvent : deepProxy(`workspace.${p}`)) },
    ),
  };

  const vscode = new Proxy(own, {
    get: (t, p: string) => (p in t ? t[p] : deepProxy(`vscode.${p}`)),
  });
  return { vscode, recorded };
}
