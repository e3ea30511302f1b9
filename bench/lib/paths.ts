/** Where things are: the repository root, the bench directory, the results directory. */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bench/ */
export const benchDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The repository root. */
export const repoRoot = resolve(benchDir, '..');
/** bench-results/ (gitignored): JSON, markdown, SVG, and scratch storage under tmp/. */
export const resultsDir = join(repoRoot, 'bench-results');
