// Bodies are streamed, never held whole: the server's peak RSS stays under
// 64 MiB while a 2 GiB object is uploaded, downloaded, copied and assembled by
// a multipart upload. Measured from /proc/<pid>/status (VmHWM: the peak).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { SmartStorage } from '../smartstorage.js';
import { tempDir } from './helpers.js';

const GiB = 1024 * 1024 * 1024;
const OBJECT_SIZE = 2 * GiB;
/** The bound from the issue: flat memory whatever the object size. */
const MAX_PEAK_RSS = 64 * 1024 * 1024;
const PART_SIZE = 256 * 1024 * 1024;

const root = tempDir('smartstorage-rss-');
let storage: SmartStorage;
const hasProc = existsSync('/proc/self/status');

before(async () => {
  storage = await SmartStorage.createAndStart({
    server: { port: 0, address: '127.0.0.1', silent: true },
    storage: { directory: join(root.path, 'data'), fsync: false },
  });
  await storage.createBucket('big');
});

after(async () => {
  await storage?.stop();
  root.cleanup();
});

/** A deterministic stream of `size` bytes built from one random 1 MiB block. */
function generated(size: number, block: Buffer): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= size) return this.push(null);
      const n = Math.min(block.length, size - sent);
      sent += n;
      this.push(n === block.length ? block : block.subarray(0, n));
    },
  });
}

function md5Of(size: number, block: Buffer): string {
  const hash = createHash('md5');
  for (let done = 0; done < size; done += block.length) hash.update(block.subarray(0, Math.min(block.length, size - done)));
  return hash.digest('hex');
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  md5?: string;
  bytes: number;
}

/** One HTTP request; the response body is hashed as it streams (never kept when `hashBody`). */
function send(method: string, path: string, headers: Record<string, string | number>, body?: Readable, hashBody = false): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: storage.port, method, path, headers }, (res) => {
      const hash = createHash('md5');
      let text = '';
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (hashBody) hash.update(chunk);
        else text += chunk.toString('utf8');
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, bytes, md5: hashBody ? hash.digest('hex') : undefined }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body) body.pipe(req);
    else req.end();
  });
}

function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  assert.ok(match, 'VmHWM present');
  return Number(match[1]) * 1024;
}

test('peak server RSS stays under 64 MiB through a 2 GiB upload, download, copy and multipart complete', { skip: !hasProc && 'needs /proc' }, async () => {
  const block = randomBytes(1024 * 1024);
  const expectedMd5 = md5Of(OBJECT_SIZE, block);

  const put = await send('PUT', '/big/object', { 'content-length': OBJECT_SIZE }, generated(OBJECT_SIZE, block));
  assert.equal(put.status, 200, put.body);
  assert.equal(put.headers.etag, `"${expectedMd5}"`);

  const get = await send('GET', '/big/object', {}, undefined, true);
  assert.equal(get.status, 200);
  assert.equal(get.bytes, OBJECT_SIZE);
  assert.equal(get.md5, expectedMd5);

  const copy = await send('PUT', '/big/copy', { 'x-amz-copy-source': '/big/object' });
  assert.equal(copy.status, 200, copy.body);
  assert.match(copy.body, new RegExp(expectedMd5));

  const created = await send('POST', '/big/assembled?uploads', {});
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.body)?.[1];
  assert.ok(uploadId, created.body);
  const parts: string[] = [];
  for (let n = 1; n * PART_SIZE <= OBJECT_SIZE; n++) {
    const part = await send('PUT', `/big/assembled?partNumber=${n}&uploadId=${uploadId}`, { 'content-length': PART_SIZE }, generated(PART_SIZE, block));
    assert.equal(part.status, 200, part.body);
    parts.push(`<Part><PartNumber>${n}</PartNumber><ETag>${part.headers.etag}</ETag></Part>`);
  }
  const completeBody = `<CompleteMultipartUpload>${parts.join('')}</CompleteMultipartUpload>`;
  const completed = await send('POST', `/big/assembled?uploadId=${uploadId}`, { 'content-length': Buffer.byteLength(completeBody) }, Readable.from([completeBody]));
  assert.equal(completed.status, 200, completed.body);
  const assembled = await send('GET', '/big/assembled', {}, undefined, true);
  assert.equal(assembled.bytes, OBJECT_SIZE);
  assert.equal(assembled.md5, expectedMd5);

  const peak = peakRss(storage.pid!);
  console.log(`server peak RSS: ${(peak / 1024 / 1024).toFixed(1)} MiB`);
  assert.ok(peak < MAX_PEAK_RSS, `peak RSS ${(peak / 1024 / 1024).toFixed(1)} MiB exceeds 64 MiB`);
});
