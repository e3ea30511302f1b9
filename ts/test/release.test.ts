import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { repoRoot, tempDir } from './helpers.js';

const work = tempDir('smartstorage-release-');
after(() => work.cleanup());

test('the release script writes one os/cpu/libc-tagged package per prebuild and wires them into the root manifest', () => {
  const root = join(work.path, 'root');
  mkdirSync(root);
  copyFileSync(join(repoRoot, 'package.json'), join(root, 'package.json'));
  for (const key of ['linux-x64-gnu', 'linux-arm64-musl', 'darwin-arm64']) {
    mkdirSync(join(root, 'prebuilds', key), { recursive: true });
    writeFileSync(join(root, 'prebuilds', key, 'smartstorage'), `binary for ${key}`);
    chmodSync(join(root, 'prebuilds', key, 'smartstorage'), 0o755);
  }
  mkdirSync(join(root, 'prebuilds', 'win32-x64-msvc'));
  writeFileSync(join(root, 'prebuilds', 'win32-x64-msvc', 'smartstorage.exe'), 'exe');
  const out = join(work.path, 'out');

  const script = join(repoRoot, 'scripts', 'npm-packages.ts');
  const result = spawnSync(process.execPath, ['--import', 'tsx', script, '--root', root, '--out', out], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);

  const original = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  const linux = JSON.parse(readFileSync(join(out, 'linux-x64-gnu', 'package.json'), 'utf8'));
  assert.deepEqual(
    { name: linux.name, version: linux.version, os: linux.os, cpu: linux.cpu, libc: linux.libc, files: linux.files, scripts: linux.scripts },
    { name: 'smartstorage-linux-x64-gnu', version: original.version, os: ['linux'], cpu: ['x64'], libc: ['glibc'], files: ['smartstorage'], scripts: undefined },
  );
  assert.equal(readFileSync(join(out, 'linux-x64-gnu', 'smartstorage'), 'utf8'), 'binary for linux-x64-gnu');
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'linux-arm64-musl', 'package.json'), 'utf8')).libc, ['musl']);
  const darwin = JSON.parse(readFileSync(join(out, 'darwin-arm64', 'package.json'), 'utf8'));
  assert.equal(darwin.libc, undefined);
  assert.deepEqual([darwin.os, darwin.cpu], [['darwin'], ['arm64']]);
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'win32-x64-msvc', 'package.json'), 'utf8')).files, ['smartstorage.exe']);

  const rewritten = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  assert.deepEqual(rewritten.optionalDependencies, {
    'smartstorage-darwin-arm64': original.version,
    'smartstorage-linux-arm64-musl': original.version,
    'smartstorage-linux-x64-gnu': original.version,
    'smartstorage-win32-x64-msvc': original.version,
  });
  assert.ok(!rewritten.files.some((f: string) => f.startsWith('prebuilds/')), 'prebuilds still in files');
  assert.ok(existsSync(join(repoRoot, 'package.json')));
  assert.equal(JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).optionalDependencies, undefined, 'the real manifest was touched');
});
