import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { binaryFileName, hostPlatformKey } from '../binary.js';
import { repoRoot, tempDir } from './helpers.js';

/**
 * `npm pack` → install the tarball in an empty project with npm and with pnpm →
 * run a start → S3 put/get → stop script. Nothing may need Rust: cargo is taken
 * off PATH for the installs and the smoke runs, and SMARTSTORAGE_BINARY is unset,
 * so the binary inside the tarball is what runs.
 */

const work = tempDir('smartstorage-pack-');
after(() => work.cleanup());

/** The environment of a consumer machine without a Rust toolchain. */
const consumerEnv: NodeJS.ProcessEnv = (() => {
  const env = { ...process.env };
  delete env.SMARTSTORAGE_BINARY;
  delete env.CARGO_TARGET_DIR;
  env.PATH = (env.PATH ?? '')
    .split(delimiter)
    .filter((p) => !/[\\/]\.cargo[\\/]|[\\/]\.rustup[\\/]/.test(p + '/'))
    .join(delimiter);
  env.npm_config_fund = 'false';
  env.npm_config_audit = 'false';
  env.npm_config_update_notifier = 'false';
  // npm sets these for scripts it runs (npm test); a nested npm must not inherit them.
  for (const key of Object.keys(env)) if (key.startsWith('npm_package_') || key === 'npm_lifecycle_event' || key === 'npm_lifecycle_script') delete env[key];
  return env;
})();

function run(command: string, args: string[], cwd: string, timeoutMs = 60_000): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, env: consumerEnv, encoding: 'utf8', timeout: timeoutMs });
  if (result.status !== 0) {
    assert.fail(`${command} ${args.join(' ')} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

function registryReachable(): boolean {
  const ping = spawnSync('npm', ['ping'], { encoding: 'utf8', timeout: 15_000, env: consumerEnv });
  return ping.status === 0;
}

// Plain .mjs on Node 20 has no `await using`, hence try/finally.
const SMOKE = `
import { SmartStorage } from 'smartstorage';
const storage = await SmartStorage.createAndStart({
  server: { port: 0, address: '127.0.0.1' },
  storage: { directory: './data', cleanSlate: true, fsync: false },
});
try {
  await storage.createBucket('smoke');
  const url = 'http://localhost:' + storage.port + '/smoke/hello.txt';
  const put = await fetch(url, { method: 'PUT', body: 'hello, tarball' });
  if (!put.ok) throw new Error('PUT answered ' + put.status + ': ' + (await put.text()));
  const got = await fetch(url);
  const text = await got.text();
  if (text !== 'hello, tarball') throw new Error('GET answered ' + got.status + ': ' + text);
  console.log('SMOKE OK port=' + storage.port);
} finally {
  await storage.stop();
}
`;

function consumerProject(name: string): string {
  const dir = join(work.path, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, version: '1.0.0', private: true, type: 'module' }));
  writeFileSync(join(dir, 'smoke.mjs'), SMOKE);
  return dir;
}

describe('the packed tarball', { timeout: 180_000 }, () => {
  let tarball = '';
  let online = false;

  before(() => {
    const binary = join(repoRoot, 'prebuilds', hostPlatformKey(), binaryFileName);
    assert.ok(existsSync(binary), `${binary} is missing: run \`npm run build\` before the packaging test`);
    assert.ok(existsSync(join(repoRoot, 'dist', 'index.js')), 'dist/ is missing: run `npm run build` before the packaging test');
    const packed = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work.path], repoRoot);
    const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; size: number; unpackedSize: number; files: Array<{ path: string }> }>;
    tarball = join(work.path, info!.filename);
    console.log(`tarball ${info!.filename}: ${(info!.size / 1024 / 1024).toFixed(2)} MiB packed, ${(info!.unpackedSize / 1024 / 1024).toFixed(2)} MiB unpacked, ${info!.files.length} files`);
    online = registryReachable();
  });

  test('carries the JS, the type declarations and the host binary, and nothing from the source tree', () => {
    const listing = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).stdout.split('\n');
    for (const required of ['package/dist/index.js', 'package/dist/index.d.ts', 'package/dist/cli.js', `package/prebuilds/${hostPlatformKey()}/smartstorage`, 'package/package.json']) {
      assert.ok(listing.includes(required), `${required} missing from the tarball`);
    }
    assert.ok(!listing.some((f) => f.startsWith('package/rust/') || f.startsWith('package/ts/') || f.includes('/test/')), 'source or tests leaked into the tarball');
  });

  test('installs with npm and serves a put/get round trip without Rust', async (t) => {
    if (!online) return t.skip('the npm registry is unreachable (needed for execa and zod)');
    const dir = consumerProject('npm');
    run('npm', ['install', '--save-dev', '--no-package-lock', tarball], dir);
    const smoke = run(process.execPath, ['smoke.mjs'], dir);
    assert.match(smoke.stdout, /SMOKE OK port=\d+/);
    const version = run(join(dir, 'node_modules', '.bin', 'smartstorage'), ['--version'], dir);
    const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    assert.equal(version.stdout.trim(), `smartstorage ${manifest.version}`);
  });

  test('installs with pnpm and serves a put/get round trip without Rust', async (t) => {
    if (!online) return t.skip('the npm registry is unreachable (needed for pnpm, execa and zod)');
    const dir = consumerProject('pnpm');
    run('npx', ['--yes', 'pnpm@12', 'add', '--save-dev', tarball], dir, 120_000);
    const smoke = run(process.execPath, ['smoke.mjs'], dir);
    assert.match(smoke.stdout, /SMOKE OK port=\d+/);
  });
});
