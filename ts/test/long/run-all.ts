/**
 * The long reliability modes (issue 6), one after another, each bounded in
 * count and time, with a summary of the figures at the end. Wired as
 * `npm run test:long`; takes ~25 minutes on 2 cores with the defaults.
 *
 *   1. crash consistency: ≥ 200 SIGKILL/restart cycles of the real binary
 *   2. mixed load: 64 clients × 60 s (Rust harness, raw HTTP) with verification and RSS bound
 *   3. mixed load through the AWS SDK v3 at default settings: 64 clients × 60 s
 *   4. HTTP-level fuzzing of the live binary: 300 s
 *   5. disk full / I/O errors (tmpfs; skipped with a message without root)
 *   6. hostile-input proptests with 20 000 cases each
 *   7. cargo-fuzz targets, 120 s each (skipped with a message when cargo-fuzz
 *      or a nightly toolchain is missing; set LONG_FUZZ_SECS=0 to skip)
 *
 * Every step can be sized with environment variables (see each harness);
 * `LONG_ONLY=crash,fuzz` runs a subset. Exit code 1 if any step failed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers.js';

interface IStep {
  name: string;
  run: () => { ok: boolean; summary: string[]; skipped?: string };
}

const only = process.env.LONG_ONLY?.split(',').map((s) => s.trim());
const fuzzSecs = Number(process.env.LONG_FUZZ_SECS ?? 120);

/** Runs a command with inherited stderr, capturing the `[harness] …` summary lines. */
function sh(cmd: string, args: string[], env: Record<string, string> = {}, cwd = repoRoot): { ok: boolean; lines: string[] } {
  console.log(`\n$ ${Object.entries(env).map(([k, v]) => `${k}=${v} `).join('')}${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  process.stdout.write(out.split('\n').filter((l) => /^\[|^test |test result|SKIPPED|panicked|error|FAILED|stat::|Done \d+ runs/.test(l)).join('\n') + '\n');
  return { ok: r.status === 0, lines: out.split('\n') };
}

const cargoTest = (pkg: string, test: string, env: Record<string, string>) => {
  const { ok, lines } = sh('cargo', ['test', '--release', '-p', pkg, '--test', test, '--', '--nocapture', '--test-threads', '1'], env);
  return { ok, summary: lines.filter((l) => /^\[[a-z-]+\] /.test(l) && !l.includes(' seed ')) };
};

const steps: IStep[] = [
  {
    name: 'crash',
    run: () => cargoTest('smartstorage', 'reliability_crash', { SMARTSTORAGE_CRASH_CYCLES: process.env.SMARTSTORAGE_CRASH_CYCLES ?? '200', SMARTSTORAGE_CRASH_MAX_SECS: '1800' }),
  },
  {
    name: 'load',
    run: () => cargoTest('smartstorage', 'reliability_load', { SMARTSTORAGE_LOAD_SECS: process.env.SMARTSTORAGE_LOAD_SECS ?? '60', SMARTSTORAGE_LOAD_CLIENTS: '64' }),
  },
  {
    name: 'sdk-load',
    run: () => {
      // The release binary the Rust steps just built (prebuilds/ may be older than the source).
      const built = join(repoRoot, 'target', 'release', 'smartstorage');
      const env: Record<string, string> = { SDK_LOAD_SECS: process.env.SDK_LOAD_SECS ?? '60' };
      if (!process.env.SMARTSTORAGE_BINARY && existsSync(built)) env.SMARTSTORAGE_BINARY = built;
      const { ok, lines } = sh('npx', ['tsx', join('ts', 'test', 'long', 'sdk-load.ts')], env);
      return { ok, summary: lines.filter((l) => l.startsWith('[sdk-load]')) };
    },
  },
  {
    name: 'http-fuzz',
    run: () => cargoTest('smartstorage', 'reliability_http_fuzz', { SMARTSTORAGE_HTTP_FUZZ_SECS: process.env.SMARTSTORAGE_HTTP_FUZZ_SECS ?? '300' }),
  },
  { name: 'disk-full', run: () => cargoTest('smartstorage', 'reliability_disk_full', {}) },
  {
    name: 'proptests',
    run: () => {
      const { ok, lines } = sh('cargo', ['test', '--release', '-p', 'smartstorage-s3', '--test', 'reliability_proptests'], { PROPTEST_CASES: '20000' });
      return { ok, summary: lines.filter((l) => l.startsWith('test result')).map((l) => `[proptests] 20000 cases per property: ${l}`) };
    },
  },
  {
    name: 'fuzz',
    run: () => {
      if (fuzzSecs <= 0) return { ok: true, summary: [], skipped: 'LONG_FUZZ_SECS=0' };
      const probe = spawnSync('cargo', ['fuzz', '--version'], { encoding: 'utf8' });
      if (probe.status !== 0) return { ok: true, summary: [], skipped: 'cargo-fuzz is not installed (cargo install cargo-fuzz)' };
      const fuzzDir = join(repoRoot, 'rust', 'fuzz');
      const targets = spawnSync('cargo', ['fuzz', 'list', '--fuzz-dir', '.'], { cwd: fuzzDir, encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
      let ok = true;
      const summary: string[] = [];
      for (const target of targets) {
        const corpus = join('corpus', target);
        const seeds = join('seeds', target);
        const args = ['fuzz', 'run', '-O', '--fuzz-dir', '.', target, corpus, ...(existsSync(join(fuzzDir, seeds)) ? [seeds] : []), '--', `-max_total_time=${fuzzSecs}`, '-rss_limit_mb=2048', '-print_final_stats=1'];
        spawnSync('mkdir', ['-p', corpus], { cwd: fuzzDir });
        // RUSTC_BOOTSTRAP lets a stable toolchain build with the -Z flags cargo-fuzz needs.
        const r = sh('cargo', args, { RUSTC_BOOTSTRAP: '1' }, fuzzDir);
        ok &&= r.ok;
        const stat = (name: string) => r.lines.find((l) => l.startsWith(`stat::${name}:`))?.split(':').pop()?.trim();
        summary.push(
          `[fuzz] ${target}: ${fuzzSecs}s, ${stat('number_of_executed_units') ?? '?'} execs (${stat('average_exec_per_sec') ?? '?'}/s), ` +
            `peak RSS ${stat('peak_rss_mb') ?? '?'} MB, ${r.ok ? 'no crash' : 'CRASH: see rust/fuzz/artifacts/' + target}`,
        );
      }
      return { ok, summary };
    },
  },
];

const results: Array<{ name: string; ok: boolean; summary: string[]; skipped?: string; secs: number }> = [];
for (const step of steps) {
  if (only && !only.includes(step.name)) continue;
  const t = Date.now();
  const r = step.run();
  results.push({ name: step.name, ...r, secs: (Date.now() - t) / 1000 });
}
console.log('\n== long-mode summary');
for (const r of results) {
  console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name} (${r.secs.toFixed(0)} s)${r.skipped ? ` skipped: ${r.skipped}` : ''}`);
  for (const line of r.summary) console.log(`     ${line}`);
}
if (results.some((r) => !r.ok)) process.exitCode = 1;
