/**
 * Long mode: bounded mixed load through the AWS SDK v3 at its default
 * settings (aws-chunked uploads with CRC32 trailers, managed multipart via
 * @aws-sdk/lib-storage), against the real binary started by the SmartStorage
 * class. Every read is verified; reads of keys shared by all clients must
 * return exactly one of the versions written to them. Fails (exit code 1) on
 * any error, mismatch or a server peak RSS over the bound.
 *
 *   tsx ts/test/long/sdk-load.ts            # 64 clients × 60 s
 *   SDK_LOAD_CLIENTS=16 SDK_LOAD_SECS=10 tsx ts/test/long/sdk-load.ts
 */
import { createCipheriv, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { SmartStorage } from '../../smartstorage.js';

const CLIENTS = Number(process.env.SDK_LOAD_CLIENTS ?? 64);
const SECS = Number(process.env.SDK_LOAD_SECS ?? 60);
const MAX_RSS_MIB = Number(process.env.SDK_LOAD_MAX_RSS_MIB ?? 512);
const BUCKET = 'sdkload';
const HOT_KEYS = 4;

/** Deterministic bytes for a label (AES-CTR keystream), so any torn or mixed body is detectable. */
function content(label: string, size: number): Buffer {
  const key = createHash('sha256').update(label).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

const md5 = (b: Buffer | Uint8Array) => createHash('md5').update(b).digest('hex');

function vmStatus(pid: number | undefined, field: string): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(field));
    return line ? Number(line.replace(/[^0-9]/g, '')) : undefined;
  } catch {
    return undefined;
  }
}

interface IStats {
  ops: number;
  perOp: Record<string, number>;
  failures: string[];
  bytesUp: number;
  bytesDown: number;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'smartstorage-sdk-load-'));
  const storage = await SmartStorage.createAndStart({
    server: { port: 0, address: '127.0.0.1' },
    storage: { directory: join(dir, 'data') },
    logging: { level: 'warn' },
  });
  const stats: IStats = { ops: 0, perOp: {}, failures: [], bytesUp: 0, bytesDown: 0 };
  /** Hot key versions: x-amz-meta-ver → md5 of the bytes. Registered before the write is sent. */
  const hotVersions = new Map<string, string>();
  const count = (op: string) => {
    stats.ops++;
    stats.perOp[op] = (stats.perOp[op] ?? 0) + 1;
  };
  const fail = (what: string) => {
    if (stats.failures.length < 50) stats.failures.push(what);
  };
  try {
    await storage.createBucket(BUCKET);
    const config = await storage.getS3ClientConfig();
    const deadline = Date.now() + SECS * 1000;
    const started = Date.now();
    const rssSamples: number[] = [];
    const sampler = setInterval(() => {
      const rss = vmStatus(storage.pid, 'VmRSS:');
      if (rss !== undefined) rssSamples.push(rss);
    }, 1000);

    const client = async (id: number) => {
      const s3 = new S3Client({ ...config, maxAttempts: 1 });
      const own = new Map<string, string>(); // key → md5
      let ver = 0;
      const rnd = (n: number) => Math.floor(Math.random() * n);
      try {
        while (Date.now() < deadline && stats.failures.length === 0) {
          const roll = rnd(100);
          try {
            if (roll < 30) {
              const key = `c${id}/k${rnd(6)}`;
              const label = `${key}@${id}.${++ver}`;
              const body = content(label, rnd(100) < 90 ? rnd(64 * 1024) : rnd(2 << 20));
              await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
              count('put');
              stats.bytesUp += body.length;
              own.set(key, md5(body));
            } else if (roll < 55) {
              const key = `c${id}/k${rnd(6)}`;
              const want = own.get(key);
              try {
                const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: 'ENABLED' }));
                const bytes = await got.Body!.transformToByteArray();
                count('get');
                stats.bytesDown += bytes.length;
                if (md5(bytes) !== want) fail(`get ${key}: md5 ${md5(bytes)} != ${want}`);
              } catch (e) {
                if ((e as { name?: string }).name === 'NoSuchKey' && want === undefined) count('get-missing');
                else throw e;
              }
            } else if (roll < 60) {
              const key = `c${id}/k${rnd(6)}`;
              await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
              count('delete');
              own.delete(key);
            } else if (roll < 64) {
              const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `c${id}/` }));
              count('list');
              const keys = (listed.Contents ?? []).map((o) => o.Key).sort();
              const want = [...own.keys()].sort();
              if (JSON.stringify(keys) !== JSON.stringify(want)) fail(`list c${id}/: ${keys} != ${want}`);
            } else if (roll < 67) {
              // Managed multipart upload (lib-storage): 2 parts of 5 MiB + a tail.
              const key = `c${id}/mp`;
              const body = content(`${key}@${id}.${++ver}`, 10 * 1024 * 1024 + rnd(100_000));
              await new Upload({ client: s3, params: { Bucket: BUCKET, Key: key, Body: body }, partSize: 5 * 1024 * 1024, queueSize: 2 }).done();
              count('multipart');
              stats.bytesUp += body.length;
              own.set(key, md5(body));
            } else if (roll < 82) {
              const key = `hot/${rnd(HOT_KEYS)}`;
              const v = `${id}.${++ver}`;
              const body = content(`${key}@${v}`, rnd(200_000));
              hotVersions.set(v, md5(body));
              await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, Metadata: { ver: v } }));
              count('hot-put');
              stats.bytesUp += body.length;
            } else if (roll < 97) {
              const key = `hot/${rnd(HOT_KEYS)}`;
              try {
                const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
                const bytes = await got.Body!.transformToByteArray();
                count('hot-get');
                stats.bytesDown += bytes.length;
                const v = got.Metadata?.ver ?? '';
                if (hotVersions.get(v) !== md5(bytes)) {
                  fail(`TORN/MIXED read of ${key}: md5 ${md5(bytes)} but version ${v} was written as ${hotVersions.get(v)}`);
                }
              } catch (e) {
                if ((e as { name?: string }).name === 'NoSuchKey') count('hot-get-missing');
                else throw e;
              }
            } else {
              await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `hot/${rnd(HOT_KEYS)}` }));
              count('hot-delete');
            }
          } catch (e) {
            fail(`client ${id}: ${(e as Error).name}: ${(e as Error).message}`);
          }
        }
      } finally {
        s3.destroy();
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i)));
    clearInterval(sampler);
    const elapsed = (Date.now() - started) / 1000;
    const peak = vmStatus(storage.pid, 'VmHWM:') ?? 0;
    console.log(
      `[sdk-load] ${CLIENTS} AWS SDK clients × ${elapsed.toFixed(1)}s: ${stats.ops} ops (${(stats.ops / elapsed).toFixed(0)} ops/s), ` +
        `${(stats.bytesUp / 1048576).toFixed(1)} MiB up, ${(stats.bytesDown / 1048576).toFixed(1)} MiB down, ` +
        `${hotVersions.size} hot versions, server peak RSS ${peak} KiB, RSS samples ${JSON.stringify(rssSamples.filter((_, i) => i % Math.max(1, Math.floor(rssSamples.length / 8)) === 0))}, ` +
        `failures ${stats.failures.length}; per op ${JSON.stringify(stats.perOp)}`,
    );
    if (stats.failures.length > 0) {
      console.error(stats.failures.join('\n'));
      process.exitCode = 1;
    }
    if (peak > MAX_RSS_MIB * 1024) {
      console.error(`server peak RSS ${peak} KiB is over the ${MAX_RSS_MIB} MiB bound`);
      process.exitCode = 1;
    }
  } finally {
    await storage.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
