/**
 * The Rust load generator (`rust/loadgen`, binary `smartstorage-loadgen`):
 * found through $SMARTSTORAGE_LOADGEN or target/release, built with cargo on
 * first use. Each command prints one JSON object, returned parsed.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './paths.js';

const run = promisify(execFile);

let cached: string | undefined;

/** Path of the load generator, building it (release) when missing or older than its sources. */
export function loadgenPath(): string {
  if (cached) return cached;
  const fromEnv = process.env.SMARTSTORAGE_LOADGEN;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`SMARTSTORAGE_LOADGEN=${fromEnv} does not exist`);
    return (cached = fromEnv);
  }
  const target = process.env.CARGO_TARGET_DIR ?? join(repoRoot, 'target');
  const binary = join(target, 'release', 'smartstorage-loadgen');
  if (!existsSync(binary) || isStale(binary)) {
    process.stderr.write('building the load generator (cargo build --release -p smartstorage-loadgen)…\n');
    const built = spawnSync('cargo', ['build', '--release', '-p', 'smartstorage-loadgen'], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] });
    if (built.status !== 0 || !existsSync(binary)) {
      throw new Error('could not build rust/loadgen: is it listed in the workspace members of Cargo.toml? (or set SMARTSTORAGE_LOADGEN)');
    }
  }
  return (cached = binary);
}

function isStale(binary: string): boolean {
  const built = statSync(binary).mtimeMs;
  const sources = ['main.rs', 'http.rs', 'load.rs', 'machine.rs', 'transfer.rs'].map((f) => join(repoRoot, 'rust/loadgen/src', f));
  return sources.some((s) => existsSync(s) && statSync(s).mtimeMs > built);
}

/** Runs `smartstorage-loadgen <command> --k v …` and returns its JSON. */
export async function loadgen(command: string, options: Record<string, string | number | boolean | string[]>): Promise<Record<string, number | string | Record<string, number>>> {
  const args = [command];
  for (const [name, value] of Object.entries(options)) {
    if (value === false) continue;
    if (value === true) args.push(`--${name}`);
    else if (Array.isArray(value)) for (const v of value) args.push(`--${name}`, v);
    else args.push(`--${name}`, String(value));
  }
  const { stdout } = await run(loadgenPath(), args, { maxBuffer: 1 << 20, timeout: 15 * 60_000 });
  return JSON.parse(stdout.trim()) as Record<string, number | string | Record<string, number>>;
}
