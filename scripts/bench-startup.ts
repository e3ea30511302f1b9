/**
 * Startup benchmark (not a test): medians over RUNS runs of
 *   1. `smartstorage --version` (exec cost),
 *   2. spawn → `ready` line of `smartstorage --management` (raw child_process),
 *   3. `SmartStorage.createAndStart()` + `createBucket()` on port 0 in a fresh directory
 *      (with fsync on, the default, and off),
 *   4. `stop()`.
 *
 *   npm run bench:startup            # RUNS=30 by default
 *   RUNS=100 npm run bench:startup
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveBinary } from '../ts/binary.js';
import { SmartStorage } from '../ts/smartstorage.js';

const runs = Number(process.env.RUNS ?? 30);
const binary = resolveBinary();
const root = mkdtempSync(join(tmpdir(), 'smartstorage-bench-'));

function stats(samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return `median ${at(0.5).toFixed(1)} ms  (min ${s[0]!.toFixed(1)}, p90 ${at(0.9).toFixed(1)}, max ${s[s.length - 1]!.toFixed(1)})`;
}

function spawnToReady(): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn(binary, ['--management'], { stdio: ['pipe', 'pipe', 'ignore'] });
    child.stdout.once('data', () => {
      const ms = performance.now() - t;
      child.stdin.end();
      child.once('exit', () => resolve(ms));
    });
    child.once('error', reject);
  });
}

async function createAndStartAndBucket(fsync: boolean, i: number): Promise<[number, number]> {
  const t = performance.now();
  const storage = await SmartStorage.createAndStart({
    server: { port: 0, address: '127.0.0.1' },
    storage: { directory: join(root, `${fsync ? 'sync' : 'nosync'}-${i}`), cleanSlate: true, fsync },
  });
  await storage.createBucket('bench');
  const started = performance.now() - t;
  const s = performance.now();
  await storage.stop();
  return [started, performance.now() - s];
}

try {
  console.log(`binary: ${binary}\nruns: ${runs}\n`);
  const version: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    spawnSync(binary, ['--version']);
    version.push(performance.now() - t);
  }
  console.log(`${'exec --version:'.padEnd(48)}${stats(version)}`);

  const ready: number[] = [];
  for (let i = 0; i < runs; i++) ready.push(await spawnToReady());
  console.log(`${'spawn -> ready:'.padEnd(48)}${stats(ready)}`);

  for (const fsync of [true, false]) {
    const start: number[] = [];
    const stop: number[] = [];
    for (let i = 0; i < runs; i++) {
      const [a, b] = await createAndStartAndBucket(fsync, i);
      start.push(a);
      stop.push(b);
    }
    const label = `createAndStart()+createBucket() fsync=${fsync}:`.padEnd(48);
    console.log(`${label}${stats(start)}  (first: ${start[0]!.toFixed(1)} ms)`);
    console.log(`${`stop() fsync=${fsync}:`.padEnd(48)}${stats(stop)}`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
