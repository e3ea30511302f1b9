import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { BinaryNotFoundError } from '../errors.js';
import { hostPlatformKey, platformKeys, resolveBinary } from '../binary.js';
import { repoRoot, tempDir } from './helpers.js';

type BinaryModule = typeof import('../binary.js');

/**
 * A throwaway package root holding a copy of binary.ts, so each layout is
 * resolved from scratch (fresh module, fresh memo) exactly as an install would.
 */
async function fakePackage(manifest: object, files: Record<string, 'exe' | 'plain'> = {}) {
  const root = tempDir('smartstorage-pkg-');
  mkdirSync(join(root.path, 'ts'));
  for (const name of ['binary.ts', 'errors.ts']) copyFileSync(join(repoRoot, 'ts', name), join(root.path, 'ts', name));
  writeFileSync(join(root.path, 'package.json'), JSON.stringify({ name: 'smartstorage', version: '0.0.0', type: 'module', ...manifest }));
  for (const [path, kind] of Object.entries(files)) {
    const full = join(root.path, path);
    mkdirSync(join(full, '..'), { recursive: true });
    writeFileSync(full, kind === 'exe' ? '#!/bin/sh\n' : '{}');
    if (kind === 'exe') chmodSync(full, 0o755);
  }
  const mod = (await import(pathToFileURL(join(root.path, 'ts', 'binary.ts')).href)) as BinaryModule;
  return { root: root.path, mod, cleanup: root.cleanup };
}

function withoutEnv<T>(fn: () => T): T {
  const saved = process.env.SMARTSTORAGE_BINARY;
  delete process.env.SMARTSTORAGE_BINARY;
  try {
    return fn();
  } finally {
    if (saved !== undefined) process.env.SMARTSTORAGE_BINARY = saved;
  }
}

describe('binary resolution', () => {
  const cleanups: Array<() => void> = [];
  after(() => cleanups.forEach((c) => c()));

  test('platform keys follow the napi naming', () => {
    assert.match(hostPlatformKey(), /^(linux-[a-z0-9]+-(gnu|musl)|darwin-[a-z0-9]+|win32-[a-z0-9]+-msvc|[a-z0-9]+-[a-z0-9]+)$/);
    assert.deepEqual(platformKeys('darwin', 'arm64'), ['darwin-arm64']);
    assert.deepEqual(platformKeys('win32', 'x64'), ['win32-x64-msvc']);
    const linux = platformKeys('linux', 'arm64');
    assert.deepEqual([...linux].sort(), ['linux-arm64-gnu', 'linux-arm64-musl']);
  });

  test('SMARTSTORAGE_BINARY must exist, and the error says which variable and path', () => {
    const saved = process.env.SMARTSTORAGE_BINARY;
    process.env.SMARTSTORAGE_BINARY = '/nonexistent/smartstorage';
    try {
      assert.throws(() => resolveBinary(), (e: unknown) => {
        assert.ok(e instanceof BinaryNotFoundError);
        assert.match(e.message, /SMARTSTORAGE_BINARY environment variable points at \/nonexistent\/smartstorage, which does not exist/);
        return true;
      });
    } finally {
      if (saved === undefined) delete process.env.SMARTSTORAGE_BINARY;
      else process.env.SMARTSTORAGE_BINARY = saved;
    }
  });

  test('a binaryPath that is not executable is refused', async () => {
    const pkg = await fakePackage({}, { 'some/file': 'plain' });
    cleanups.push(pkg.cleanup);
    assert.throws(() => pkg.mod.resolveBinary(join(pkg.root, 'some/file')), /binaryPath option points at .*some\/file, which is not executable/);
  });

  test('the binaryPath option wins over everything', async () => {
    const key = hostPlatformKey();
    const pkg = await fakePackage({}, { [`prebuilds/${key}/smartstorage`]: 'exe', 'custom/smartstorage': 'exe' });
    cleanups.push(pkg.cleanup);
    assert.equal(pkg.mod.resolveBinary(join(pkg.root, 'custom/smartstorage')), join(pkg.root, 'custom/smartstorage'));
  });

  test('an installed platform package comes before prebuilds', async () => {
    const key = hostPlatformKey();
    const pkgName = `smartstorage-${key}`;
    const pkg = await fakePackage(
      { optionalDependencies: { [pkgName]: '0.0.0' } },
      {
        [`node_modules/${pkgName}/package.json`]: 'plain',
        [`node_modules/${pkgName}/smartstorage`]: 'exe',
        [`prebuilds/${key}/smartstorage`]: 'exe',
      },
    );
    cleanups.push(pkg.cleanup);
    assert.equal(withoutEnv(() => pkg.mod.resolveBinary()), join(pkg.root, 'node_modules', pkgName, 'smartstorage'));
  });

  test('prebuilds come before target/release, which comes before target/debug', async () => {
    const key = hostPlatformKey();
    const all = await fakePackage({}, {
      'Cargo.toml': 'plain',
      [`prebuilds/${key}/smartstorage`]: 'exe',
      'target/release/smartstorage': 'exe',
      'target/debug/smartstorage': 'exe',
    });
    const cargoOnly = await fakePackage({}, { 'Cargo.toml': 'plain', 'target/release/smartstorage': 'exe', 'target/debug/smartstorage': 'exe' });
    const debugOnly = await fakePackage({}, { 'Cargo.toml': 'plain', 'target/debug/smartstorage': 'exe' });
    cleanups.push(all.cleanup, cargoOnly.cleanup, debugOnly.cleanup);
    const savedTarget = process.env.CARGO_TARGET_DIR;
    delete process.env.CARGO_TARGET_DIR;
    try {
      assert.equal(withoutEnv(() => all.mod.resolveBinary()), join(all.root, 'prebuilds', key, 'smartstorage'));
      assert.equal(withoutEnv(() => cargoOnly.mod.resolveBinary()), join(cargoOnly.root, 'target', 'release', 'smartstorage'));
      assert.equal(withoutEnv(() => debugOnly.mod.resolveBinary()), join(debugOnly.root, 'target', 'debug', 'smartstorage'));
    } finally {
      if (savedTarget !== undefined) process.env.CARGO_TARGET_DIR = savedTarget;
    }
  });

  test('target/ is only searched in a source checkout (with Cargo.toml)', async () => {
    const pkg = await fakePackage({}, { 'target/release/smartstorage': 'exe' });
    cleanups.push(pkg.cleanup);
    assert.throws(() => withoutEnv(() => pkg.mod.resolveBinary()), (e: BinaryNotFoundError) => e.code === 'BinaryNotFound' && !/target/.test(e.message));
  });

  test('when nothing is found the error lists every path tried, the platform and the fix', async () => {
    const pkg = await fakePackage({}, { 'Cargo.toml': 'plain' });
    cleanups.push(pkg.cleanup);
    const key = hostPlatformKey();
    assert.throws(() => withoutEnv(() => pkg.mod.resolveBinary()), (e: unknown) => {
      const err = e as BinaryNotFoundError; // from the copied module: same shape, another class identity
      assert.equal(err.code, 'BinaryNotFound');
      assert.equal(err.platformKey, key);
      assert.ok(err.tried.includes(join(pkg.root, 'prebuilds', key, 'smartstorage')), err.message);
      assert.ok(err.tried.some((p) => p.endsWith(join('target', 'release', 'smartstorage'))), err.message);
      assert.ok(err.tried.some((p) => p.endsWith(join('target', 'debug', 'smartstorage'))), err.message);
      assert.match(err.message, new RegExp(`platform ${key}`));
      assert.match(err.message, /npm run build:rust/);
      return true;
    });
  });

  test('an installed copy without any binary explains the pnpm build opt-in', async () => {
    const pkg = await fakePackage({});
    cleanups.push(pkg.cleanup);
    assert.throws(() => withoutEnv(() => pkg.mod.resolveBinary()), /allowBuilds/);
  });

  test('with platform packages declared but missing, the error warns about --omit=optional', async () => {
    const pkg = await fakePackage({ optionalDependencies: { [`smartstorage-${hostPlatformKey()}`]: '0.0.0' } });
    cleanups.push(pkg.cleanup);
    assert.throws(() => withoutEnv(() => pkg.mod.resolveBinary()), /--omit=optional/);
  });
});
