/**
 * Node-side drivers: the AWS SDK v3 (what users run), a lean node:http client
 * for listings, the startup probes, and OpenSSL MD5 for the machine limits.
 */
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { connect, createServer } from 'node:net';
import { Readable } from 'node:stream';

const MiB = 1 << 20;

/** A 1 MiB block of random bytes shared by every streamed body. */
const block = randomBytes(MiB);

/** A readable of `size` bytes made of the shared block. */
function bodyStream(size: number): Readable {
  let left = size;
  return Readable.from(
    (function* () {
      while (left > 0) {
        const n = Math.min(left, block.length);
        left -= n;
        yield n === block.length ? block : block.subarray(0, n);
      }
    })(),
    { objectMode: false },
  );
}

/** PutObject of `size` streamed bytes; returns seconds. */
export async function sdkPut(s3: S3Client, bucket: string, key: string, size: number): Promise<number> {
  const t = performance.now();
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bodyStream(size), ContentLength: size }));
  return (performance.now() - t) / 1000;
}

/** GetObject, body consumed and discarded; returns [seconds, bytes]. */
export async function sdkGet(s3: S3Client, bucket: string, key: string): Promise<[number, number]> {
  const t = performance.now();
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  let bytes = 0;
  for await (const chunk of out.Body as AsyncIterable<Uint8Array>) bytes += chunk.length;
  return [(performance.now() - t) / 1000, bytes];
}

/**
 * Multipart upload of `size` bytes in `partSize` parts, `concurrency` at a
 * time; returns total seconds and the CompleteMultipartUpload latency in ms.
 */
export async function sdkMultipart(s3: S3Client, bucket: string, key: string, size: number, partSize: number, concurrency: number): Promise<{ seconds: number; completeMs: number; parts: number }> {
  const part = Buffer.alloc(partSize);
  for (let o = 0; o < partSize; o += block.length) block.copy(part, o);
  const t = performance.now();
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const count = Math.ceil(size / partSize);
  const etags: string[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const n = next++;
        const len = Math.min(partSize, size - n * partSize);
        const body = len === partSize ? part : part.subarray(0, len);
        const r = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: n + 1, Body: body, ContentLength: len }));
        etags[n] = r.ETag!;
      }
    }),
  );
  const c = performance.now();
  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      UploadId,
      MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
    }),
  );
  const end = performance.now();
  return { seconds: (end - t) / 1000, completeMs: end - c, parts: count };
}

/** Which SDK operation a small-object loop issues. */
export type SmallOp = 'PUT' | 'GET' | 'HEAD' | 'DELETE';

/**
 * `concurrency` SDK loops of `op` on 4 KiB objects for `seconds` (or until
 * `maxRequests`); keys `${prefix}${i}`, i wrapping at `keys` when > 0.
 * Returns requests completed and seconds.
 */
export async function sdkSmall(s3: S3Client, bucket: string, op: SmallOp, prefix: string, keys: number, concurrency: number, seconds: number, maxRequests: number): Promise<{ requests: number; seconds: number; errors: number }> {
  const body = block.subarray(0, 4096);
  const deadline = performance.now() + seconds * 1000;
  let issued = 0;
  let done = 0;
  let errors = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline && issued < maxRequests) {
        const i = issued++;
        const Key = `${prefix}${keys > 0 ? i % keys : i}`;
        try {
          if (op === 'PUT') await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: body }));
          else if (op === 'HEAD') await s3.send(new HeadObjectCommand({ Bucket: bucket, Key }));
          else if (op === 'DELETE') await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key }));
          else {
            const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key }));
            await r.Body!.transformToByteArray();
          }
          done++;
        } catch {
          errors++;
        }
      }
    }),
  );
  return { requests: done, seconds: (performance.now() - t) / 1000, errors };
}

/** Lean GET over a keep-alive agent: status and body text. */
function httpGet(agent: Agent, port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Full ListObjectsV2 pagination with node:http; returns keys seen and seconds. */
export async function listAll(port: number, bucket: string, prefix = ''): Promise<{ keys: number; pages: number; seconds: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const t = performance.now();
  let token: string | undefined;
  let keys = 0;
  let pages = 0;
  try {
    do {
      const q = new URLSearchParams({ 'list-type': '2', 'max-keys': '1000' });
      if (prefix) q.set('prefix', prefix);
      if (token) q.set('continuation-token', token);
      const { status, body } = await httpGet(agent, port, `/${bucket}?${q}`);
      if (status !== 200) throw new Error(`ListObjectsV2 answered ${status}: ${body.slice(0, 200)}`);
      pages++;
      keys += body.split('<Key>').length - 1;
      token = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(body)?.[1];
      if (token) token = decodeXml(token);
    } while (token);
  } finally {
    agent.destroy();
  }
  return { keys, pages, seconds: (performance.now() - t) / 1000 };
}

function decodeXml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

/** Full listing through the SDK (its XML parsing included); returns keys and seconds. */
export async function sdkListAll(s3: S3Client, bucket: string): Promise<{ keys: number; seconds: number }> {
  const t = performance.now();
  let keys = 0;
  let token: string | undefined;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token, MaxKeys: 1000 }));
    keys += r.KeyCount ?? r.Contents?.length ?? 0;
    token = r.NextContinuationToken;
  } while (token);
  return { keys, seconds: (performance.now() - t) / 1000 };
}

/** Median latency (ms) of `n` identical lean GETs of `path`, checking `expect` entries come back. */
export async function listLatency(port: number, path: string, n: number, expect: { tag: string; count: number }): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const samples: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      const { status, body } = await httpGet(agent, port, path);
      samples.push(performance.now() - t);
      const got = body.split(`<${expect.tag}>`).length - 1;
      if (status !== 200 || got !== expect.count) throw new Error(`${path}: status ${status}, ${got} <${expect.tag}> instead of ${expect.count}`);
    }
  } finally {
    agent.destroy();
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1]!;
}

/** A free TCP port on 127.0.0.1 (bound and released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Time from `spawn(command)` to the first byte of an answer to `GET /` on
 * 127.0.0.1:`port`, retrying the connection until the child listens (at most
 * `timeoutMs`). The child is then ended with SIGTERM (SIGKILL after 5 s).
 */
export async function spawnToFirstAnswer(command: string, args: string[], port: number, timeoutMs = 10_000): Promise<number> {
  const t = performance.now();
  const child = spawn(command, args, { stdio: ['pipe', 'ignore', 'ignore'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    while (performance.now() - t < timeoutMs) {
      const answered = await new Promise<boolean>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port });
        socket.once('connect', () => socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'));
        socket.once('data', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
        socket.once('close', () => resolve(false));
      });
      if (answered) return performance.now() - t;
    }
    throw new Error(`${command} did not answer on port ${port} within ${timeoutMs} ms`);
  } finally {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Single-core MD5 with OpenSSL (node:crypto) over `bytes`; bytes/s. */
export function opensslMd5(bytes: number): number {
  const t = performance.now();
  const h = createHash('md5');
  for (let left = bytes; left > 0; left -= block.length) h.update(left >= block.length ? block : block.subarray(0, left));
  h.digest();
  return bytes / ((performance.now() - t) / 1000);
}
