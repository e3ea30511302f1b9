#!/usr/bin/env node
/**
 * The `smartstorage` command of the npm package: finds the native binary and
 * runs it with the same arguments (`--directory`, `--port`, `--config`, …),
 * forwarding signals and the exit status.
 */
import { spawn } from 'node:child_process';
import { resolveBinary } from './binary.js';
import { SmartStorageError } from './errors.js';

let binary: string;
try {
  binary = resolveBinary();
} catch (error) {
  process.stderr.write(`smartstorage: ${error instanceof SmartStorageError ? error.message : String(error)}\n`);
  process.exit(1);
}

const child = spawn(binary, process.argv.slice(2), { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    child.kill(signal);
  });
}
child.on('error', (error) => {
  process.stderr.write(`smartstorage: could not run ${binary}: ${error.message}\n`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  if (signal) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  } else {
    process.exit(code ?? 1);
  }
});
