// Finding the `tandem` executable (src/server.ts), in plain Node.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { expandServerPath, resolveServerCommand } from '../src/server';

const posixOnly = process.platform === 'win32' ? 'POSIX file modes' : false;

describe('resolveServerCommand', () => {
  let dir: string;
  let bin: string;
  let project: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-vscode-'));
    bin = path.join(dir, 'bin');
    project = path.join(dir, 'project');
    fs.mkdirSync(bin);
    fs.mkdirSync(path.join(project, 'target', 'release'), { recursive: true });
    for (const file of [path.join(bin, 'tandem'), path.join(project, 'target', 'release', 'tandem')]) {
      fs.writeFileSync(file, '#!/bin/sh\nexit 0\n');
      fs.chmodSync(file, 0o755);
    }
    fs.writeFileSync(path.join(bin, 'not-executable'), 'text');
    fs.chmodSync(path.join(bin, 'not-executable'), 0o644);
  });

  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a bare command is looked up on PATH', { skip: posixOnly }, () => {
    const env = { PATH: ['/nonexistent', bin].join(path.delimiter) };
    assert.deepEqual(resolveServerCommand('tandem', { env }), { found: true, path: path.join(bin, 'tandem') });
    assert.deepEqual(resolveServerCommand('', { env }), { found: true, path: path.join(bin, 'tandem') });
    assert.deepEqual(resolveServerCommand(undefined, { env }), { found: true, path: path.join(bin, 'tandem') });
  });

  test('a command missing from PATH is reported, with the reason', () => {
    const result = resolveServerCommand('tandem', { env: { PATH: '/nonexistent' } });
    assert.equal(result.found, false);
    assert.match(result.found ? '' : result.reason, /`tandem` was not found on PATH/);
  });

  test('a file without the execute bit is not a server', { skip: posixOnly }, () => {
    assert.equal(resolveServerCommand(path.join(bin, 'not-executable')).found, false);
    assert.equal(resolveServerCommand('not-executable', { env: { PATH: bin } }).found, false);
  });

  test('absolute, relative and ${workspaceFolder} paths', { skip: posixOnly }, () => {
    const expected = { found: true, path: path.join(project, 'target', 'release', 'tandem') };
    assert.deepEqual(resolveServerCommand(expected.path), expected);
    assert.deepEqual(resolveServerCommand('target/release/tandem', { workspaceFolder: project }), expected);
    assert.deepEqual(resolveServerCommand('./target/release/tandem', { workspaceFolder: project }), expected);
    assert.deepEqual(resolveServerCommand('${workspaceFolder}/target/release/tandem', { workspaceFolder: project }), expected);
    assert.deepEqual(resolveServerCommand('  ~/target/release/tandem  ', { homedir: project }), expected);
    assert.deepEqual(resolveServerCommand('${env:TANDEM_HOME}/target/release/tandem', { env: { TANDEM_HOME: project } }), expected);
    const missing = resolveServerCommand('target/debug/tandem', { workspaceFolder: project });
    assert.equal(missing.found, false);
    assert.match(missing.found ? '' : missing.reason, /does not exist or is not an executable file/);
  });

  test('${workspaceFolder} without an open folder is reported', () => {
    const result = resolveServerCommand('${workspaceFolder}/target/release/tandem', {});
    assert.equal(result.found, false);
    assert.match(result.found ? '' : result.reason, /cannot be expanded/);
  });

  test('expandServerPath', () => {
    assert.equal(expandServerPath('~', { homedir: '/home/an' }), '/home/an');
    assert.equal(expandServerPath('${userHome}/bin/tandem', { homedir: '/home/an' }), '/home/an/bin/tandem');
    assert.equal(expandServerPath('${env:NOPE}tandem', { env: {} }), 'tandem');
    assert.equal(expandServerPath('tandem'), 'tandem');
  });
});
