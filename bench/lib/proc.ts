/**
 * What /proc says about a server process: CPU seconds (utime + stime of all its
 * threads), resident memory now (VmRSS) and at its peak (VmHWM), and resetting
 * that peak so it can be read per scenario. Linux only, like the suite.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

/** Clock ticks per second for /proc/<pid>/stat times; 100 on every Linux we target. */
const CLK_TCK = 100;

/** CPU seconds the process has used so far (user + system, all threads). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces: split after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of the file are utime and stime: indexes 11 and 12 after the name.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match) throw new Error(`/proc/${pid}/status has no ${field}`);
  return Number(match[1]);
}

/** Resident set size now, MiB. */
export function rssMiB(pid: number): number {
  return statusKiB(pid, 'VmRSS') / 1024;
}

/** Peak resident set size since start or the last {@link resetPeakRss}, MiB. */
export function peakRssMiB(pid: number): number {
  return statusKiB(pid, 'VmHWM') / 1024;
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0, `echo 5 > clear_refs`); false when not permitted. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Load average over the last minute, for the report header. */
export function loadAverage(): number[] {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
}

/**
 * Writes every dirty page of the machine to disk and waits (`sync`). A big
 * measurement starts from a clean page cache: otherwise the gigabytes the
 * previous one left unsynced (s3rver and the fsync-off server never sync)
 * are written back during it, and it pays for that disk traffic and CPU.
 */
export function flushDirtyPages(): void {
  spawnSync('sync', { stdio: 'ignore' });
}
