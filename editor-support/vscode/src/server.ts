// Finding the `tandem` executable that runs the language server.
//
// Kept free of the `vscode` module so that it can be unit-tested in plain Node.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface ResolveOptions {
  /** The first workspace folder: `${workspaceFolder}` and relative paths are taken from it. */
  workspaceFolder?: string | undefined;
  /** Environment to read `PATH` (and `PATHEXT` on Windows) from; defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Home directory for a leading `~`; defaults to `os.homedir()`. */
  homedir?: string;
}

export type ResolvedServer =
  | { found: true; path: string }
  | { found: false; command: string; reason: string };

export const DEFAULT_SERVER_COMMAND = 'tandem';

/** Expands `${workspaceFolder}`, `${userHome}`, `${env:NAME}` and a leading `~`. */
export function expandServerPath(configured: string, options: ResolveOptions = {}): string {
  const env = options.env ?? process.env;
  const home = options.homedir ?? os.homedir();
  let value = configured.trim();
  value = value.replace(/\$\{(workspaceFolder|userHome|env:([A-Za-z_][A-Za-z0-9_]*))\}/g, (whole, name: string, envName?: string) => {
    if (name === 'workspaceFolder') {
      return options.workspaceFolder ?? whole;
    }
    if (name === 'userHome') {
      return home;
    }
    return envName !== undefined ? env[envName] ?? '' : whole;
  });
  if (value === '~') {
    return home;
  }
  if (value.startsWith('~/') || value.startsWith('~\\')) {
    return path.join(home, value.slice(2));
  }
  return value;
}

function isExecutableFile(candidate: string): boolean {
  try {
    if (!fs.statSync(candidate).isFile()) {
      return false;
    }
    if (process.platform !== 'win32') {
      fs.accessSync(candidate, fs.constants.X_OK);
    }
    return true;
  } catch {
    return false;
  }
}

function windowsExtensions(env: NodeJS.ProcessEnv): string[] {
  if (process.platform !== 'win32') {
    return [''];
  }
  const pathext = (env['PATHEXT'] ?? '.COM;.EXE;.BAT;.CMD').split(';').filter((e) => e !== '');
  return ['', ...pathext];
}

/**
 * Resolves the configured `tandem.server.path` to an executable file.
 *
 * A bare command name (`tandem`) is looked up on `PATH`; anything with a path
 * separator is a path, taken relative to the first workspace folder when it is
 * not absolute.
 */
export function resolveServerCommand(configured: string | undefined, options: ResolveOptions = {}): ResolvedServer {
  const env = options.env ?? process.env;
  const raw = configured === undefined || configured.trim() === '' ? DEFAULT_SERVER_COMMAND : configured;
  const command = expandServerPath(raw, options);

  if (command.includes('${')) {
    return { found: false, command, reason: `\`${command}\` has a variable that cannot be expanded here (is a folder open?)` };
  }

  const isPath = path.isAbsolute(command) || command.includes('/') || (process.platform === 'win32' && command.includes('\\'));
  if (isPath) {
    const base = options.workspaceFolder ?? process.cwd();
    const full = path.resolve(base, command);
    for (const ext of windowsExtensions(env)) {
      if (isExecutableFile(full + ext)) {
        return { found: true, path: full + ext };
      }
    }
    return { found: false, command, reason: `\`${full}\` does not exist or is not an executable file` };
  }

  const dirs = (env['PATH'] ?? env['Path'] ?? '').split(path.delimiter).filter((d) => d !== '');
  for (const dir of dirs) {
    for (const ext of windowsExtensions(env)) {
      const candidate = path.join(dir, command + ext);
      if (isExecutableFile(candidate)) {
        return { found: true, path: candidate };
      }
    }
  }
  return { found: false, command, reason: `\`${command}\` was not found on PATH` };
}
