/**
 * Finds the `smartstorage` executable. Order (first hit wins):
 *
 * 1. `SMARTSTORAGE_BINARY` env or the `binaryPath` option — must exist, else an error;
 * 2. the installed per-platform package `smartstorage-<platformKey>` (release installs);
 * 3. `<package>/prebuilds/<platformKey>/smartstorage` (source checkouts after `npm install`,
 *    single-package tarballs);
 * 4. `<package>/target/release/smartstorage`, then `target/debug` (source checkouts only);
 * 5. otherwise a {@link BinaryNotFoundError} listing every path tried.
 *
 * It never builds anything. The default resolution is memoized.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BinaryNotFoundError } from './errors.js';

/** The package root: `ts/` and `dist/` both sit one level below it. */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Name of the executable inside a prebuild directory or platform package. */
export const binaryFileName = process.platform === 'win32' ? 'smartstorage.exe' : 'smartstorage';

/** Env var naming the binary explicitly (tests, CI, custom builds). */
export const BINARY_ENV = 'SMARTSTORAGE_BINARY';

interface IPackageManifest {
  name?: string;
  version?: string;
  optionalDependencies?: Record<string, string>;
}

let manifestCache: IPackageManifest | undefined;

/** This package's own package.json (read once). */
export function packageManifest(): IPackageManifest {
  if (!manifestCache) {
    try {
      manifestCache = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as IPackageManifest;
    } catch {
      manifestCache = {};
    }
  }
  return manifestCache;
}

let glibcCache: boolean | undefined;

/** Whether this Linux process runs on glibc (else musl). Asked at most once per process. */
function isGlibc(): boolean {
  if (glibcCache === undefined) {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
    glibcCache = Boolean(report?.header?.glibcVersionRuntime);
  }
  return glibcCache;
}

/**
 * napi-style platform keys for this machine, most likely first: `linux-x64-gnu`
 * (then `linux-x64-musl`), `darwin-arm64`, `win32-x64-msvc`, …
 */
export function platformKeys(platform: NodeJS.Platform = process.platform, arch: string = process.arch): string[] {
  const base = `${platform}-${arch}`;
  if (platform === 'linux') {
    return isGlibc() ? [`${base}-gnu`, `${base}-musl`] : [`${base}-musl`, `${base}-gnu`];
  }
  if (platform === 'win32') return [`${base}-msvc`];
  return [base];
}

/** The primary platform key of this machine (what `scripts/build-binary.ts` writes). */
export function hostPlatformKey(): string {
  return platformKeys()[0]!;
}

/** Name of the npm package carrying the binary for `key`. */
export function platformPackageName(key: string): string {
  return `smartstorage-${key}`;
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, process.platform === 'win32' ? constants.F_OK : constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function checkExplicit(path: string, source: string): string {
  const absolute = resolve(path);
  let problem: string | undefined;
  try {
    const stat = statSync(absolute);
    if (!stat.isFile()) problem = 'is not a file';
    else if (!isExecutableFile(absolute)) problem = 'is not executable (chmod +x it)';
  } catch {
    problem = 'does not exist';
  }
  if (problem) {
    throw new BinaryNotFoundError(
      `${source} points at ${absolute}, which ${problem}. Fix the path, or unset it to use the bundled binary.`,
      [absolute],
      hostPlatformKey(),
    );
  }
  return absolute;
}

let memoized: string | undefined;

/**
 * Resolves the binary path. `binaryPath` (or `SMARTSTORAGE_BINARY`) overrides
 * everything and must exist.
 */
export function resolveBinary(binaryPath?: string): string {
  if (binaryPath) return checkExplicit(binaryPath, 'The binaryPath option');
  const fromEnv = process.env[BINARY_ENV];
  if (fromEnv) return checkExplicit(fromEnv, `The ${BINARY_ENV} environment variable`);
  memoized ??= searchBinary();
  return memoized;
}

/** Forgets the memoized resolution (tests). */
export function resetBinaryCache(): void {
  memoized = undefined;
}

function searchBinary(): string {
  const tried: string[] = [];
  const manifest = packageManifest();
  const hasPlatformPackages = Object.keys(manifest.optionalDependencies ?? {}).some((n) => n.startsWith('smartstorage-'));
  // Unordered candidates: on Linux both libcs, so libc detection (a few ms) is only
  // paid when both variants are actually present.
  const keys = candidateKeys();

  if (hasPlatformPackages) {
    const require = createRequire(import.meta.url);
    const found: Array<{ key: string; path: string }> = [];
    for (const key of keys) {
      const pkg = platformPackageName(key);
      try {
        const path = join(dirname(require.resolve(`${pkg}/package.json`)), binaryFileName);
        tried.push(path);
        if (isExecutableFile(path)) found.push({ key, path });
      } catch {
        tried.push(`${pkg} (package not installed)`);
      }
    }
    const hit = preferHostLibc(found);
    if (hit) return hit;
  }

  const prebuilds = keys.map((key) => ({ key, path: join(packageRoot, 'prebuilds', key, binaryFileName) }));
  tried.push(...prebuilds.map((p) => p.path));
  const prebuilt = preferHostLibc(prebuilds.filter((p) => isExecutableFile(p.path)));
  if (prebuilt) return prebuilt;

  const sourceCheckout = isFile(join(packageRoot, 'Cargo.toml'));
  if (sourceCheckout) {
    const targetDir = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(packageRoot, 'target');
    for (const profile of ['release', 'debug']) {
      const path = join(targetDir, profile, binaryFileName);
      tried.push(path);
      if (isExecutableFile(path)) return path;
    }
  }

  const hostKey = hostPlatformKey();
  const hint = sourceCheckout
    ? 'This is a source checkout: build the binary with `npm run build:rust` (or `npm run build`; `npm install` runs it via `prepare` unless scripts are ignored).'
    : hasPlatformPackages
      ? `Install the platform package (\`npm i ${platformPackageName(hostKey)}\`); do not install with --no-optional / --omit=optional. ` +
        'If node_modules was copied from another OS or CPU, reinstall on this machine.'
      : 'This copy of smartstorage carries no binary for this platform. Installed from git with pnpm? Allow its build ' +
        '(`allowBuilds: { smartstorage: true }` in pnpm-workspace.yaml, or `pnpm.onlyBuiltDependencies` with pnpm 10) and reinstall. ' +
        'Otherwise build one with cargo and set SMARTSTORAGE_BINARY to it.';
  throw new BinaryNotFoundError(
    `No smartstorage binary found for platform ${hostKey}. Tried:\n  ${tried.join('\n  ')}\n${hint}`,
    tried,
    hostKey,
  );
}

/** Platform keys to look for, without libc detection (Linux: gnu and musl). */
function candidateKeys(): string[] {
  const base = `${process.platform}-${process.arch}`;
  if (process.platform === 'linux') return [`${base}-gnu`, `${base}-musl`];
  return platformKeys();
}

/** Among existing candidates, the one matching this machine's libc (detected only if several exist). */
function preferHostLibc(found: Array<{ key: string; path: string }>): string | undefined {
  if (found.length <= 1) return found[0]?.path;
  const order = platformKeys();
  const ranked = [...found].sort((a, b) => rank(order, a.key) - rank(order, b.key));
  return ranked[0]!.path;
}

function rank(order: string[], key: string): number {
  const i = order.indexOf(key);
  return i === -1 ? order.length : i;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
