/**
 * The Rust load generator (`rust/loadgen`, binary `smartstorage-loadgen`):
 * found through $SMARTSTORAGE_LOADGEN or built with cargo into target/release.
 * Each command prints one JSON object, returned parsed.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './paths.js';

const run = promisify(execFile);

let cached: string | undefined;

/**
 * Path of the load generator. Without $SMARTSTORAGE_LOADGEN it runs `cargo build
 * --release` for it every time: cargo knows when its sources, the manifests or
 * the lockfile changed (a no-op taking a second when nothing did).
 */
export function loadgenPath(): string {
  if (cached) return cached;
  const fromEnv = process.env.SMARTSTORAGE_LOADGEN;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`SMARTSTORAGE_LOADGEN=${fromEnv} does not exist`);
    return (cached = fromEnv);
  }
  const target = process.env.CARGO_TARGET_DIR ?? join(repoRoot, 'target');
  const binary = join(target, 'release', 'smartstorage-loadgen');
  process.stderr.write('building the load generator if needed (cargo build --release -p smartstorage-loadgen)…\n');
  const built = spawnSync('cargo', ['build', '--release', '-p', 'smartstorage-loadgen'], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] });
  if (built.status !== 0 || !existsSync(binary)) {
    throw new Error(`could not build rust/loadgen (cargo exited with ${built.status ?? built.error?.message}): is it listed in the workspace members of Cargo.toml? (or set SMARTSTORAGE_LOADGEN)`);
  }
  return (cached = binary);
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

/** A running `smartstorage-loadgen floor-server`. */
export interface FloorServer {
  /** `127.0.0.1:<port>`. */
  addr: string;
  pid: number;
  /** Closes its stdin (it exits) and waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Starts the floor server (`rust/loadgen/src/floor.rs`: the core of a small
 * PUT on the server's own HTTP stack, nothing else) in `dir`,
 * listening on 127.0.0.1, port 0.
 */
export async function startFloorServer(dir: string): Promise<FloorServer> {
  const child = spawn(loadgenPath(), ['floor-server', '--dir', dir, '--addr', '127.0.0.1:0'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`floor-server exited (${code}) before listening`)));
  });
  lines.close();
  child.stdout!.resume();
  const addr = String((JSON.parse(first) as { addr: string }).addr);
  if (child.pid === undefined) throw new Error('floor-server has no pid');
  return {
    addr,
    pid: child.pid,
    stop: async () => {
      child.stdin!.end();
      await exited;
    },
  };
}
