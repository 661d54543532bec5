// VS Code extension for Tandem (.journey files): starts `tandem lsp` over stdio.

import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  ErrorHandler,
  Executable,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
} from 'vscode-languageclient/node';
import { resolveServerCommand } from './server';

const CLIENT_ID = 'tandem'; // also the prefix of the `tandem.trace.server` setting
const CLIENT_NAME = 'Tandem Language Server';
const INSTALL_HINT =
  'Install the Tandem CLI (`cargo install --path .` in the Tandem repository) or set `tandem.server.path` ' +
  '(for example `${workspaceFolder}/target/release/tandem`).';

let client: LanguageClient | undefined;
let clientDisposables: vscode.Disposable[] = [];
let outputChannel: vscode.LogOutputChannel | undefined;
let queue: Promise<void> = Promise.resolve();

/** Runs start/stop/restart one at a time, so quick setting changes cannot race. */
function serialize(task: () => Promise<void>): Promise<void> {
  queue = queue.then(task, task);
  return queue;
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  outputChannel = vscode.window.createOutputChannel(CLIENT_NAME, { log: true });
  context.subscriptions.push(
    outputChannel,
    vscode.commands.registerCommand('tandem.restartServer', () => serialize(restartClient)),
    vscode.commands.registerCommand('tandem.showOutput', () => outputChannel?.show(true)),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('tandem.server')) {
        void serialize(restartClient);
      }
    }),
  );
  await serialize(startClient);
}

export function deactivate(): Promise<void> {
  return serialize(stopClient);
}

async function restartClient(): Promise<void> {
  await stopClient();
  await startClient();
}

async function startClient(): Promise<void> {
  const config = vscode.workspace.getConfiguration('tandem');
  const configuredPath = config.get<string>('server.path', 'tandem');
  const configuredArgs: unknown = config.get('server.args', ['lsp']);
  const args = Array.isArray(configuredArgs) ? configuredArgs.map(String) : ['lsp'];
  const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri.fsPath;

  const resolved = resolveServerCommand(configuredPath, { workspaceFolder: folder });
  if (!resolved.found) {
    const message = `Tandem: the language server is not running: ${resolved.reason}. ${INSTALL_HINT} Syntax highlighting works without it.`;
    outputChannel?.error(message);
    void showError(message);
    return;
  }

  // No `transport` on purpose: the client would then append `--stdio` to the
  // arguments. Without it the server still talks over stdin/stdout, and the
  // command line is exactly `tandem.server.path` + `tandem.server.args`.
  const executable: Executable = {
    command: resolved.path,
    args,
    options: folder !== undefined ? { cwd: folder } : {},
  };
  const serverOptions: ServerOptions = { run: executable, debug: executable };

  // The server re-checks the program when a file of it changes on disk: its
  // journeys, its email templates, and its deployment settings.
  const watchers = [
    vscode.workspace.createFileSystemWatcher('**/*.journey'),
    vscode.workspace.createFileSystemWatcher('**/templates/**'),
    vscode.workspace.createFileSystemWatcher('**/tandem.toml'),
  ];
  clientDisposables = watchers;
  // Connection errors go to the output only, so that a server that cannot start
  // gets the one explanation below instead of several generic notifications.
  // Restarts after a crash are the client's usual ones (4 in 3 minutes).
  let defaultHandler: ErrorHandler | undefined; // needs the client, set below
  const errorHandler: ErrorHandler = {
    error: async (error, message, count) => {
      const result = defaultHandler !== undefined ? await defaultHandler.error(error, message, count) : { action: ErrorAction.Shutdown };
      return { ...result, handled: true };
    },
    closed: async () => (defaultHandler !== undefined ? defaultHandler.closed() : { action: CloseAction.DoNotRestart }),
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'tandem' },
      { scheme: 'untitled', language: 'tandem' },
    ],
    synchronize: { fileEvents: watchers },
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    ...(outputChannel !== undefined ? { outputChannel } : {}),
    errorHandler,
    initializationFailedHandler: () => false,
  };

  outputChannel?.info(`Starting ${resolved.path} ${args.join(' ')}`);
  const started = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
  defaultHandler = started.createDefaultErrorHandler();
  client = started;
  try {
    await started.start();
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    const message =
      `Tandem: \`${resolved.path} ${args.join(' ')}\` did not start as a language server (${detail}; ` +
      'what the server printed is in the output). ' +
      'Check that this Tandem CLI has the `lsp` command, or change `tandem.server.path` / `tandem.server.args`.';
    outputChannel?.error(message);
    void showError(message);
  }
}

async function stopClient(): Promise<void> {
  const current = client;
  client = undefined;
  try {
    if (current !== undefined && current.needsStop()) {
      await current.stop();
    }
  } catch (error) {
    outputChannel?.warn(`Stopping the language server: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    for (const disposable of clientDisposables) {
      disposable.dispose();
    }
    clientDisposables = [];
  }
}

async function showError(message: string): Promise<void> {
  const openSettings = 'Open Settings';
  const showOutput = 'Show Output';
  const choice = await vscode.window.showErrorMessage(message, openSettings, showOutput);
  if (choice === openSettings) {
    await vscode.commands.executeCommand('workbench.action.openSettings', 'tandem.server');
  } else if (choice === showOutput) {
    outputChannel?.show(true);
  }
}
