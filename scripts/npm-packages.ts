/**
 * Release step: turns `prebuilds/<platformArchABI>/smartstorage*` into one npm
 * package per platform and wires them into the root manifest (see docs/release.md).
 *
 *   tsx scripts/npm-packages.ts [--root DIR] [--out DIR]
 *
 * For every prebuild found it writes `<out>/<key>/package.json` (default out: `target/npm-packages`) (name
 * `smartstorage-<key>`, same version, `os`/`cpu`/`libc`, no scripts, no
 * dependencies) plus the binary, then rewrites `<root>/package.json`:
 * `optionalDependencies` on every platform package at the exact version, and
 * `prebuilds/` dropped from `files` (the binaries now travel in the platform
 * packages). Run it on a release checkout only: the committed manifest has no
 * `optionalDependencies`, which is how `ts/binary.ts` knows it is a dev checkout.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { packageRoot } from '../ts/binary.js';

interface IPlatform {
  os: string;
  cpu: string;
  libc?: 'glibc' | 'musl';
  exe: string;
  /** The Rust target that builds it. */
  triple: string;
}

/** Every platform key we know how to package, with its Rust target. */
export const PLATFORMS: Record<string, IPlatform> = {
  'linux-x64-gnu': { os: 'linux', cpu: 'x64', libc: 'glibc', exe: 'smartstorage', triple: 'x86_64-unknown-linux-gnu' },
  'linux-x64-musl': { os: 'linux', cpu: 'x64', libc: 'musl', exe: 'smartstorage', triple: 'x86_64-unknown-linux-musl' },
  'linux-arm64-gnu': { os: 'linux', cpu: 'arm64', libc: 'glibc', exe: 'smartstorage', triple: 'aarch64-unknown-linux-gnu' },
  'linux-arm64-musl': { os: 'linux', cpu: 'arm64', libc: 'musl', exe: 'smartstorage', triple: 'aarch64-unknown-linux-musl' },
  'darwin-arm64': { os: 'darwin', cpu: 'arm64', exe: 'smartstorage', triple: 'aarch64-apple-darwin' },
  'darwin-x64': { os: 'darwin', cpu: 'x64', exe: 'smartstorage', triple: 'x86_64-apple-darwin' },
  'win32-x64-msvc': { os: 'win32', cpu: 'x64', exe: 'smartstorage.exe', triple: 'x86_64-pc-windows-msvc' },
};

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

const root = resolve(arg('--root') ?? packageRoot);
const out = resolve(arg('--out') ?? join(root, 'target', 'npm-packages'));
const manifestPath = join(root, 'package.json');
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown> & {
  name: string;
  version: string;
  files?: string[];
  optionalDependencies?: Record<string, string>;
};

const prebuildsDir = join(root, 'prebuilds');
const found = existsSync(prebuildsDir) ? readdirSync(prebuildsDir).filter((k) => PLATFORMS[k]) : [];
const packaged: string[] = [];
for (const key of found) {
  const platform = PLATFORMS[key]!;
  const binary = join(prebuildsDir, key, platform.exe);
  if (!existsSync(binary)) continue;
  const dir = join(out, key);
  mkdirSync(dir, { recursive: true });
  copyFileSync(binary, join(dir, platform.exe));
  chmodSync(join(dir, platform.exe), 0o755);
  const pkg = {
    name: `${manifest.name}-${key}`,
    version: manifest.version,
    description: `The ${key} binary of ${manifest.name} (Rust target ${platform.triple}).`,
    license: manifest.license,
    ...(manifest.repository ? { repository: manifest.repository } : {}),
    os: [platform.os],
    cpu: [platform.cpu],
    ...(platform.libc ? { libc: [platform.libc] } : {}),
    files: [platform.exe],
    preferUnplugged: true,
    ...(manifest.engines ? { engines: manifest.engines } : {}),
  };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
  packaged.push(pkg.name);
  console.log(`npm-packages: ${dir} (${pkg.name}@${pkg.version})`);
}

if (packaged.length === 0) {
  console.error(`npm-packages: no prebuilds found under ${prebuildsDir}; build them first (docs/release.md).`);
  process.exit(1);
}

manifest.optionalDependencies = Object.fromEntries(packaged.sort().map((name) => [name, manifest.version]));
manifest.files = (manifest.files ?? []).filter((f) => !f.startsWith('prebuilds/'));
writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
console.log(`npm-packages: ${manifestPath} now depends optionally on ${packaged.join(', ')}`);
