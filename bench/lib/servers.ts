/**
 * The servers under test, each in its own process so /proc tells their CPU
 * and memory: SmartStorage through its TypeScript class (fsync on, the
 * default, and fsync off), and s3rver from bench/.deps (installed on first
 * use with `npm install --prefix bench/.deps`, never touching the project's
 * own package.json or lockfile).
 */
import { S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { Agent } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SmartStorage } from '../../ts/index.js';
import { benchDir } from './paths.js';

/** The s3rver release benchmarked (the last one; unmaintained since 2021). */
export const S3RVER_VERSION = '3.7.1';

/**
 * Node flags for s3rver: its ListObjectsV2 continuation tokens are DES-encrypted,
 * and OpenSSL 3 (Node ≥ 17) only offers DES through the legacy provider; without
 * it every truncated ListObjectsV2 page is a 500 InternalError.
 */
export const S3RVER_NODE_FLAGS = ['--openssl-legacy-provider'];

/** Which server. */
export type ServerKind = 'smartstorage' | 'smartstorage-nofsync' | 's3rver';

/** A running server under test. */
export interface BenchServer {
  kind: ServerKind;
  /** `127.0.0.1:<port>`, for the load generator. */
  addr: string;
  port: number;
  pid: number;
  /** An AWS SDK v3 client; checksums only when required (s3rver rejects the default CRC32 trailers). */
  s3: S3Client;
  /** Resident memory right after start and bucket creation, MiB (filled in by the runner). */
  idleRssMiB?: number;
  stop(): Promise<void>;
}

/** SDK client with a keep-alive agent big enough for concurrency 32. */
export function sdkClient(endpoint: string, accessKeyId: string, secretAccessKey: string, defaultChecksums = false): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId, secretAccessKey },
    forcePathStyle: true,
    ...(defaultChecksums ? {} : { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }),
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }) }),
  });
}

/** Starts SmartStorage on 127.0.0.1, port 0, in `directory` (wiped first). */
export async function startSmartStorage(directory: string, fsync: boolean): Promise<BenchServer> {
  const storage = await SmartStorage.createAndStart({
    server: { port: 0, address: '127.0.0.1', silent: true },
    storage: { directory, cleanSlate: true, fsync },
  });
  const config = await storage.getS3ClientConfig({ host: '127.0.0.1' });
  const pid = storage.pid;
  if (pid === undefined) throw new Error('SmartStorage has no pid');
  return {
    kind: fsync ? 'smartstorage' : 'smartstorage-nofsync',
    addr: `127.0.0.1:${storage.port}`,
    port: storage.port,
    pid,
    s3: sdkClient(config.endpoint, config.credentials.accessKeyId, config.credentials.secretAccessKey),
    stop: () => storage.stop(),
  };
}

/** Path of s3rver's main module, installing it into bench/.deps when missing. */
export function s3rverMain(): string {
  const deps = join(benchDir, '.deps');
  const resolveIt = () => createRequire(join(deps, 'package.json')).resolve('s3rver');
  try {
    return resolveIt();
  } catch {
    process.stderr.write(`installing s3rver@${S3RVER_VERSION} into ${deps} (once)…\n`);
    mkdirSync(deps, { recursive: true });
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const r = spawnSync(npm, ['install', '--prefix', deps, '--no-save', '--no-audit', '--no-fund', `s3rver@${S3RVER_VERSION}`], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) throw new Error(`npm install --prefix ${deps} s3rver@${S3RVER_VERSION} failed`);
    return resolveIt();
  }
}

/** Spawns s3rver in a child process; resolves once it listens. */
export async function startS3rver(directory: string): Promise<BenchServer & { readyMs: number }> {
  mkdirSync(directory, { recursive: true });
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [...S3RVER_NODE_FLAGS, join(benchDir, 's3rver-child.mjs'), s3rverMain(), directory], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const first = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`s3rver exited (${code}) before listening: ${stderr}`)));
  });
  const { port, readyMs } = JSON.parse(first) as { port: number; readyMs: number };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    kind: 's3rver',
    addr: `127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    readyMs,
    s3: sdkClient(`http://127.0.0.1:${port}`, 'S3RVER', 'S3RVER'),
    stop: async () => {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Creates `bucket` through the SDK. */
export async function createBucket(server: BenchServer, bucket: string): Promise<void> {
  await server.s3.send(new CreateBucketCommand({ Bucket: bucket }));
}
