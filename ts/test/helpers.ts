import { chmodSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const testDir = dirname(fileURLToPath(import.meta.url));
export const repoRoot = join(testDir, '..', '..');
export const fixturesDir = join(repoRoot, 'docs', 'fixtures');

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = 'smartstorage-test-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

let fakeBinaryPath: string | undefined;

/** An executable copy of the fake management server (mode via the FAKE_MODE env var). */
export function fakeBinary(): string {
  if (!fakeBinaryPath) {
    const dir = mkdtempSync(join(tmpdir(), 'smartstorage-fake-'));
    fakeBinaryPath = join(dir, 'fake-server.mjs');
    copyFileSync(join(testDir, 'fixtures', 'fake-server.mjs'), fakeBinaryPath);
    chmodSync(fakeBinaryPath, 0o755);
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return fakeBinaryPath;
}

/** Every JSON fixture of the protocol doc: [file name, parsed content]. */
export function protocolFixtures(): Array<[string, unknown]> {
  return readdirSync(fixturesDir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => [name, JSON.parse(readFileSync(join(fixturesDir, name), 'utf8'))]);
}

/**
 * True while a process with this pid runs. An exited process whose new parent
 * never reaps it (PID 1 in some containers) lingers as a zombie: that counts as gone.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true; // no procfs (macOS): signal 0 succeeded
  }
}

/** Polls `condition` every 10 ms until it holds or `timeoutMs` passes. */
export async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return condition();
}
