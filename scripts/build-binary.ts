/**
 * Builds the release binary and installs it as
 * `prebuilds/<platformArchABI>/smartstorage`, where `resolveBinary()` finds it.
 *
 *   tsx scripts/build-binary.ts            # cargo build --release --locked -p smartstorage
 *   tsx scripts/build-binary.ts --no-build # only copy an existing target/release binary
 *
 * Honors CARGO_TARGET_DIR. The copy is written next to the destination and
 * renamed over it, so a running binary is never overwritten in place.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { binaryFileName, hostPlatformKey, packageRoot } from '../ts/binary.js';

const skipBuild = process.argv.includes('--no-build');
const targetDir = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(packageRoot, 'target');
const built = join(targetDir, 'release', binaryFileName);

if (!skipBuild) {
  const started = Date.now();
  const cargo = spawnSync('cargo', ['build', '--release', '--locked', '-p', 'smartstorage'], { cwd: packageRoot, stdio: 'inherit' });
  if (cargo.error) {
    console.error(
      `build-binary: could not run cargo (${cargo.error.message}). Install Rust (https://rustup.rs), ` +
        'or install smartstorage from the npm registry, which ships prebuilt binaries.',
    );
    process.exit(1);
  }
  if (cargo.status !== 0) process.exit(cargo.status ?? 1);
  console.error(`build-binary: cargo build took ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

if (!existsSync(built)) {
  console.error(`build-binary: ${built} does not exist; run without --no-build.`);
  process.exit(1);
}

const destDir = join(packageRoot, 'prebuilds', hostPlatformKey());
const dest = join(destDir, binaryFileName);
mkdirSync(destDir, { recursive: true });
const temp = `${dest}.tmp-${process.pid}`;
copyFileSync(built, temp);
chmodSync(temp, 0o755);
renameSync(temp, dest);
const mib = (statSync(dest).size / 1024 / 1024).toFixed(1);
console.error(`build-binary: installed ${relative(packageRoot, dest)} (${mib} MiB)`);
