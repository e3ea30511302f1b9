/**
 * Authentication end to end, with `auth.enabled`: the AWS SDK at its default
 * settings, presigned URLs used with plain `fetch`, tampered and expired URLs,
 * a skewed clock, anonymous requests, two owners, credentials added and
 * removed at runtime, and uploads whose bodies are verified as they stream
 * (lib-storage multipart, SDK aws-chunked trailers, and hand-framed
 * `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` chunks whose signatures chain from the
 * seed signature).
 */
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SourceData } from '@smithy/types';
import { SmartStorageError } from '../errors.js';
import { SmartStorage } from '../smartstorage.js';
import { tempDir } from './helpers.js';

const REGION = 'us-east-1';
const OWNER_A = { accessKeyId: 'OWNERAKEY', secretAccessKey: 'owner-a/secret+KEY' };
const OWNER_B = { accessKeyId: 'OWNERBKEY', secretAccessKey: 'owner-b-secret' };
const BUCKET_A = 'auth-owner-a';
const BUCKET_B = 'auth-owner-b';

const root = tempDir('smartstorage-auth-');
let storage: SmartStorage;
let base: S3ClientConfig & { endpoint: string };
let s3A: S3Client;
let s3B: S3Client;
const clients: S3Client[] = [];

/**
 * An S3 client for `credentials` (default SDK settings otherwise); destroyed
 * after the suite. The SDK annotates the credentials object it is given, so it
 * gets a copy.
 */
function client(credentials: { accessKeyId: string; secretAccessKey: string }, extra: S3ClientConfig = {}): S3Client {
  const c = new S3Client({ ...base, credentials: { ...credentials }, ...extra });
  clients.push(c);
  return c;
}

/** The S3 error a command rejects with (fails the test if it resolves). */
async function s3Error(promise: Promise<unknown>): Promise<S3ServiceException> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof S3ServiceException, `expected an S3 error, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the command to fail');
}

/** Asserts that `promise` fails with this S3 error code and HTTP status. */
async function rejectsWith(promise: Promise<unknown>, code: string, status: number): Promise<S3ServiceException> {
  const err = await s3Error(promise);
  assert.equal(err.name, code, err.message);
  assert.equal(err.$metadata.httpStatusCode, status);
  return err;
}

/** Status, S3 error code and message of a `fetch` response. */
async function fetchReply(response: Response): Promise<{ status: number; code: string; message: string; body: string }> {
  const body = await response.text();
  const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1] ?? '';
  const message = /<Message>([^<]*)<\/Message>/.exec(body)?.[1] ?? '';
  return { status: response.status, code, message, body };
}

const sha256Hex = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

const bytes = (d: SourceData): string | Uint8Array =>
  typeof d === 'string' ? d : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d);

/** SHA-256 / HMAC-SHA256 (node:crypto) in the shape the smithy signer expects. */
class Sha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

/** The SigV4 signer inside the AWS SDK, used directly for the aws-chunked requests the SDK never sends. */
const signerA = new SignatureV4({ credentials: OWNER_A, region: REGION, service: 's3', sha256: Sha256, uriEscapePath: false });

interface IRawReply {
  status: number;
  code: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * PUTs `chunks` as `aws-chunked` with `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`:
 * the seed signature from the SDK signer, then one signature per chunk (and
 * the final empty chunk), each over the previous one, as the AWS documentation
 * describes. `tamper` flips one byte of chunk `tamper.chunk` after signing.
 */
async function signedChunkedPut(path: string, query: Record<string, string>, chunks: Buffer[], tamper?: { chunk: number }): Promise<IRawReply> {
  const port = storage.port;
  const signingDate = new Date();
  const decodedLength = chunks.reduce((n, c) => n + c.length, 0);
  const signed = await signerA.sign(
    {
      method: 'PUT',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port,
      path,
      query,
      headers: {
        host: `127.0.0.1:${port}`,
        'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': String(decodedLength),
      },
    },
    { signingDate },
  );
  const seed = /Signature=([0-9a-f]{64})/.exec(signed.headers.authorization ?? '')?.[1];
  assert.ok(seed, `no seed signature in ${signed.headers.authorization}`);
  const amzDate = signed.headers['x-amz-date']!;
  const scope = `${amzDate.slice(0, 8)}/${REGION}/s3/aws4_request`;
  const framed: Buffer[] = [];
  let previous = seed;
  for (const [i, chunk] of [...chunks, Buffer.alloc(0)].entries()) {
    const stringToSign = ['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, previous, sha256Hex(''), sha256Hex(chunk)].join('\n');
    const signature = await signerA.sign(stringToSign, { signingDate });
    const sent = tamper?.chunk === i ? Buffer.from(chunk) : chunk;
    if (tamper?.chunk === i) sent.writeUInt8(sent.readUInt8(sent.length >> 1) ^ 0x01, sent.length >> 1);
    framed.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${signature}\r\n`), sent, Buffer.from('\r\n'));
    previous = signature;
  }
  const body = Buffer.concat(framed);
  const search = Object.entries(query)
    .map(([k, v]) => `${awsEscape(k)}=${awsEscape(v)}`)
    .join('&');
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'PUT',
        path: search ? `${path}?${search}` : path,
        headers: { ...signed.headers, 'content-length': String(body.length) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, code: /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? '', headers: res.headers, body: text }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The AWS SDK's query escaping (encodeURIComponent plus !'()*), so the wire matches what was signed. */
const awsEscape = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Splits `data` into chunks of `size` bytes. */
function chunksOf(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) out.push(data.subarray(at, at + size));
  return out;
}

async function bodyOf(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await got.Body!.transformToByteArray());
}

describe('authentication with auth enabled', () => {
  before(async () => {
    storage = await SmartStorage.createAndStart({
      server: { port: 0, address: '127.0.0.1', region: REGION, silent: true },
      storage: { directory: join(root.path, 'data'), fsync: false },
      auth: { enabled: true, credentials: [OWNER_A, OWNER_B] },
    });
    base = await storage.getS3ClientConfig();
    assert.deepEqual(base.credentials, OWNER_A, 'the descriptor hands out the first configured credential');
    s3A = client(OWNER_A);
    s3B = client(OWNER_B);
    await s3A.send(new CreateBucketCommand({ Bucket: BUCKET_A }));
    await s3B.send(new CreateBucketCommand({ Bucket: BUCKET_B }));
    await s3A.send(new PutObjectCommand({ Bucket: BUCKET_A, Key: 'hello.txt', Body: 'hello from A' }));
  });

  after(async () => {
    for (const c of clients) c.destroy();
    await storage?.stop();
    root.cleanup();
  });

  test('the storage descriptor hands out the first configured credential', async () => {
    const descriptor = await storage.getStorageDescriptor();
    assert.equal(descriptor.accessKey, OWNER_A.accessKeyId);
    assert.equal(descriptor.accessSecret, OWNER_A.secretAccessKey);
  });

  test('an SDK client with the right key writes, reads, lists and deletes', async () => {
    await s3A.send(new PutObjectCommand({ Bucket: BUCKET_A, Key: 'round/trip.bin', Body: 'round trip' }));
    assert.equal((await bodyOf(s3A, BUCKET_A, 'round/trip.bin')).toString(), 'round trip');
    const listed = await s3A.send(new ListObjectsV2Command({ Bucket: BUCKET_A, Prefix: 'round/' }));
    assert.deepEqual(listed.Contents?.map((o) => o.Key), ['round/trip.bin']);
    await s3A.send(new DeleteObjectCommand({ Bucket: BUCKET_A, Key: 'round/trip.bin' }));
    await rejectsWith(s3A.send(new GetObjectCommand({ Bucket: BUCKET_A, Key: 'round/trip.bin' })), 'NoSuchKey', 404);
  });

  test('a wrong secret is answered with SignatureDoesNotMatch and nothing is written', async () => {
    const wrong = client({ accessKeyId: OWNER_A.accessKeyId, secretAccessKey: 'not-the-secret' });
    await rejectsWith(wrong.send(new GetObjectCommand({ Bucket: BUCKET_A, Key: 'hello.txt' })), 'SignatureDoesNotMatch', 403);
    await rejectsWith(wrong.send(new PutObjectCommand({ Bucket: BUCKET_A, Key: 'wrong-secret.txt', Body: 'x' })), 'SignatureDoesNotMatch', 403);
    await rejectsWith(s3A.send(new HeadObjectCommand({ Bucket: BUCKET_A, Key: 'wrong-secret.txt' })), 'NotFound', 404);
  });

  test('an unknown access key is answered with InvalidAccessKeyId', async () => {
    const stranger = client({ accessKeyId: 'NOSUCHKEY', secretAccessKey: 'whatever' });
    await rejectsWith(stranger.send(new ListBucketsCommand({})), 'InvalidAccessKeyId', 403);
    await rejectsWith(stranger.send(new GetObjectCommand({ Bucket: BUCKET_A, Key: 'hello.txt' })), 'InvalidAccessKeyId', 403);
  });

  test('a presigned GET works with plain fetch', async () => {
    const url = await getSignedUrl(s3A, new GetObjectCommand({ Bucket: BUCKET_A, Key: 'hello.txt' }), { expiresIn: 60 });
    assert.match(url, /X-Amz-Signature=[0-9a-f]{64}/);
    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'hello from A');
  });

  test('a presigned PUT works with plain fetch', async () => {
    const url = await getSignedUrl(s3A, new PutObjectCommand({ Bucket: BUCKET_A, Key: 'presigned/put.txt' }), { expiresIn: 60 });
    const response = await fetch(url, { method: 'PUT', body: 'uploaded through a presigned URL' });
    assert.equal(response.status, 200, await response.clone().text());
    assert.ok(response.headers.get('etag'));
    assert.equal((await bodyOf(s3A, BUCKET_A, 'presigned/put.txt')).toString(), 'uploaded through a presigned URL');
  });

  test('a presigned URL with a changed signature, signed parameter, credential or key is refused with SignatureDoesNotMatch', async () => {
    const url = new URL(await getSignedUrl(s3A, new GetObjectCommand({ Bucket: BUCKET_A, Key: 'hello.txt' }), { expiresIn: 60 }));
    const tampered: Array<[string, URL]> = [];

    const signature = new URL(url);
    const sig = signature.searchParams.get('X-Amz-Signature')!;
    signature.searchParams.set('X-Amz-Signature', `${sig.slice(0, 10)}${sig[10] === '0' ? '1' : '0'}${sig.slice(11)}`);
    tampered.push(['signature', signature]);

    const expires = new URL(url);
    expires.searchParams.set('X-Amz-Expires', '61');
    tampered.push(['X-Amz-Expires', expires]);

    const id = new URL(url);
    id.searchParams.set('x-id', 'GetObjecT');
    tampered.push(['x-id', id]);

    const credential = new URL(url);
    credential.searchParams.set('X-Amz-Credential', url.searchParams.get('X-Amz-Credential')!.replace(OWNER_A.accessKeyId, OWNER_B.accessKeyId));
    tampered.push(['credential', credential]);

    const key = new URL(url);
    key.pathname = key.pathname.replace('hello.txt', 'hellp.txt');
    tampered.push(['object key', key]);

    for (const [what, changed] of tampered) {
      assert.notEqual(changed.href, url.href, what);
      const reply = await fetchReply(await fetch(changed));
      assert.equal(reply.status, 403, `${what}: ${reply.body}`);
      assert.equal(reply.code, 'SignatureDoesNotMatch', `${what}: ${reply.body}`);
    }
    // The untouched URL still works: the refusals were about the changes.
    assert.equal((await fetch(url)).status, 200);
  });

  test('an expired presigned URL is refused with AccessDenied "Request has expired"', async () => {
    const url = await getSignedUrl(s3A, new GetObjectCommand({ Bucket: BUCKET_A, Key: 'hello.txt' }), { expiresIn: 1 });
    await new Promise((r) => setTimeout(r, 1_500));
    const reply = await fetchReply(await fetch(url));
    assert.equal(reply.status, 403, reply.body);
    assert.equal(reply.code, 'AccessDenied', reply.body);
    assert.equal(reply.message, 'Request has expired');
  });

  test('a client clock 20 minutes ahead is answered with RequestTimeTooSkewed', async () => {
    const skewed = client(OWNER_A, { systemClockOffset: 20 * 60 * 1000, maxAttempts: 1 });
    await rejectsWith(skewed.send(new GetObjectCommand({ Bucket: BUCKET_A, Key: 'hello.txt' })), 'RequestTimeTooSkewed', 403);
    const behind = client(OWNER_A, { systemClockOffset: -20 * 60 * 1000, maxAttempts: 1 });
    await rejectsWith(behind.send(new PutObjectCommand({ Bucket: BUCKET_A, Key: 'skewed.txt', Body: 'x' })), 'RequestTimeTooSkewed', 403);
    await rejectsWith(s3A.send(new HeadObjectCommand({ Bucket: BUCKET_A, Key: 'skewed.txt' })), 'NotFound', 404);
  });

  test('anonymous requests are answered with AccessDenied', async () => {
    const endpoint = `http://127.0.0.1:${storage.port}`;
    for (const [what, init, path] of [
      ['ListBuckets', { method: 'GET' }, '/'],
      ['GetObject', { method: 'GET' }, `/${BUCKET_A}/hello.txt`],
      ['ListObjects', { method: 'GET' }, `/${BUCKET_A}?list-type=2`],
      ['PutObject', { method: 'PUT', body: 'anonymous' }, `/${BUCKET_A}/anonymous.txt`],
      ['CreateBucket', { method: 'PUT' }, '/anonymous-bucket'],
    ] as const) {
      const reply = await fetchReply(await fetch(`${endpoint}${path}`, init));
      assert.equal(reply.status, 403, `${what}: ${reply.body}`);
      assert.equal(reply.code, 'AccessDenied', `${what}: ${reply.body}`);
    }
    await rejectsWith(s3A.send(new HeadObjectCommand({ Bucket: BUCKET_A, Key: 'anonymous.txt' })), 'NotFound', 404);
  });

  test('two owners each list only their own buckets', async () => {
    const a = await s3A.send(new ListBucketsCommand({}));
    const b = await s3B.send(new ListBucketsCommand({}));
    assert.deepEqual(a.Buckets?.map((x) => x.Name), [BUCKET_A]);
    assert.deepEqual(b.Buckets?.map((x) => x.Name), [BUCKET_B]);
  });

  test("another owner's CreateBucket on a taken name is BucketAlreadyExists", async () => {
    await rejectsWith(s3B.send(new CreateBucketCommand({ Bucket: BUCKET_A })), 'BucketAlreadyExists', 409);
    await rejectsWith(s3A.send(new CreateBucketCommand({ Bucket: BUCKET_B })), 'BucketAlreadyExists', 409);
  });

  test("another owner's reads and writes are AccessDenied", async () => {
    await rejectsWith(s3B.send(new GetObjectCommand({ Bucket: BUCKET_A, Key: 'hello.txt' })), 'AccessDenied', 403);
    await rejectsWith(s3B.send(new ListObjectsV2Command({ Bucket: BUCKET_A })), 'AccessDenied', 403);
    await rejectsWith(s3B.send(new PutObjectCommand({ Bucket: BUCKET_A, Key: 'from-b.txt', Body: 'b' })), 'AccessDenied', 403);
    await rejectsWith(s3B.send(new DeleteObjectCommand({ Bucket: BUCKET_A, Key: 'hello.txt' })), 'AccessDenied', 403);
    assert.equal((await bodyOf(s3A, BUCKET_A, 'hello.txt')).toString(), 'hello from A');
    await rejectsWith(s3A.send(new HeadObjectCommand({ Bucket: BUCKET_A, Key: 'from-b.txt' })), 'NotFound', 404);
  });

  test('a credential added at runtime works at once, and once removed it is InvalidAccessKeyId', async () => {
    const runtime = { accessKeyId: 'RUNTIMEKEY', secretAccessKey: 'runtime-secret-1' };
    const s3C = client(runtime);
    await rejectsWith(s3C.send(new ListBucketsCommand({})), 'InvalidAccessKeyId', 403);

    assert.deepEqual(await storage.addCredential(runtime), { accessKeyId: 'RUNTIMEKEY', replaced: false });
    assert.deepEqual(await storage.listCredentials(), [OWNER_A.accessKeyId, OWNER_B.accessKeyId, 'RUNTIMEKEY']);
    await s3C.send(new CreateBucketCommand({ Bucket: 'auth-runtime' }));
    await s3C.send(new PutObjectCommand({ Bucket: 'auth-runtime', Key: 'k', Body: 'runtime' }));
    assert.deepEqual((await s3C.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name), ['auth-runtime']);

    // A new secret for the same key: the old one stops working at once.
    const rotated = { ...runtime, secretAccessKey: 'runtime-secret-2' };
    assert.deepEqual(await storage.addCredential(rotated), { accessKeyId: 'RUNTIMEKEY', replaced: true });
    await rejectsWith(s3C.send(new GetObjectCommand({ Bucket: 'auth-runtime', Key: 'k' })), 'SignatureDoesNotMatch', 403);
    const s3Rotated = client(rotated);
    assert.equal((await bodyOf(s3Rotated, 'auth-runtime', 'k')).toString(), 'runtime');

    await storage.removeCredential('RUNTIMEKEY');
    assert.deepEqual(await storage.listCredentials(), [OWNER_A.accessKeyId, OWNER_B.accessKeyId]);
    await rejectsWith(s3Rotated.send(new GetObjectCommand({ Bucket: 'auth-runtime', Key: 'k' })), 'InvalidAccessKeyId', 403);
    // Its bucket keeps its owner: other owners still cannot read it.
    await rejectsWith(s3A.send(new GetObjectCommand({ Bucket: 'auth-runtime', Key: 'k' })), 'AccessDenied', 403);
  });

  test('credential methods refuse bad input with stable codes and never echo a secret', async () => {
    await assert.rejects(storage.addCredential({ accessKeyId: 'has space', secretAccessKey: 's' }), (e: unknown) => {
      assert.ok(e instanceof SmartStorageError);
      assert.equal(e.code, 'InvalidCredential');
      assert.match(e.message, /has space/);
      return true;
    });
    await assert.rejects(storage.addCredential({ accessKeyId: 'GOODKEY', secretAccessKey: 'bad secret' }), (e: unknown) => {
      assert.ok(e instanceof SmartStorageError);
      assert.equal(e.code, 'InvalidCredential');
      assert.doesNotMatch(e.message, /bad secret/);
      return true;
    });
    await assert.rejects(storage.removeCredential('NOSUCHKEY'), { code: 'NoSuchCredential' });
    assert.deepEqual(await storage.listCredentials(), [OWNER_A.accessKeyId, OWNER_B.accessKeyId]);
  });

  test('a multipart upload through lib-storage verifies every signed part', async () => {
    const data = randomBytes(11 * 1024 * 1024);
    const upload = new Upload({
      client: s3A,
      params: { Bucket: BUCKET_A, Key: 'multipart/lib-storage.bin', Body: data },
      partSize: 5 * 1024 * 1024,
      queueSize: 2,
    });
    await upload.done();
    const got = await bodyOf(s3A, BUCKET_A, 'multipart/lib-storage.bin');
    assert.equal(sha256Hex(got), sha256Hex(data));
    // Another owner cannot upload parts into A's bucket.
    const intruder = new Upload({ client: s3B, params: { Bucket: BUCKET_A, Key: 'multipart/intruder.bin', Body: randomBytes(1024) } });
    await rejectsWith(intruder.done(), 'AccessDenied', 403);
  });

  test('a streamed PutObject with an aws-chunked checksum trailer is verified', async () => {
    const data = randomBytes(200_000);
    await s3A.send(
      new PutObjectCommand({ Bucket: BUCKET_A, Key: 'streamed/trailer.bin', Body: Readable.from(chunksOf(data, 64 * 1024)), ContentLength: data.length }),
    );
    assert.equal(sha256Hex(await bodyOf(s3A, BUCKET_A, 'streamed/trailer.bin')), sha256Hex(data));
  });

  test('signed aws-chunked uploads verify the chunk signature chain, and a changed chunk stores nothing', async () => {
    const data = randomBytes(150_000);
    const ok = await signedChunkedPut(`/${BUCKET_A}/chunked/signed.bin`, {}, chunksOf(data, 64 * 1024));
    assert.equal(ok.status, 200, ok.body);
    assert.equal(sha256Hex(await bodyOf(s3A, BUCKET_A, 'chunked/signed.bin')), sha256Hex(data));

    const bad = await signedChunkedPut(`/${BUCKET_A}/chunked/tampered.bin`, {}, chunksOf(data, 64 * 1024), { chunk: 1 });
    assert.equal(bad.status, 403, bad.body);
    assert.equal(bad.code, 'SignatureDoesNotMatch', bad.body);
    await rejectsWith(s3A.send(new HeadObjectCommand({ Bucket: BUCKET_A, Key: 'chunked/tampered.bin' })), 'NotFound', 404);

    // The same framing carries the parts of a multipart upload.
    const key = 'chunked/multipart.bin';
    const { UploadId } = await s3A.send(new CreateMultipartUploadCommand({ Bucket: BUCKET_A, Key: key }));
    const part1 = randomBytes(5 * 1024 * 1024);
    const part2 = randomBytes(100_000);
    const etags: string[] = [];
    for (const [n, part] of [part1, part2].entries()) {
      const reply = await signedChunkedPut(`/${BUCKET_A}/${key}`, { partNumber: String(n + 1), uploadId: UploadId! }, chunksOf(part, 256 * 1024));
      assert.equal(reply.status, 200, reply.body);
      etags.push(String(reply.headers.etag));
    }
    await s3A.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET_A,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    );
    assert.equal(sha256Hex(await bodyOf(s3A, BUCKET_A, key)), sha256Hex(Buffer.concat([part1, part2])));
  });
});

describe('the storage descriptor follows the live credentials', () => {
  const dir = tempDir('smartstorage-auth-descriptor-');
  let server: SmartStorage;

  before(async () => {
    server = await SmartStorage.createAndStart({
      server: { port: 0, address: '127.0.0.1', silent: true },
      storage: { directory: join(dir.path, 'data'), fsync: false },
      auth: { enabled: true, credentials: [{ accessKeyId: 'FIRSTKEY', secretAccessKey: 'first-secret' }] },
    });
  });

  after(async () => {
    await server?.stop();
    dir.cleanup();
  });

  test('removing the first credential hands the descriptor to the next one, with its secret', async () => {
    await server.addCredential({ accessKeyId: 'NEXTKEY', secretAccessKey: 'next-secret' });
    assert.equal((await server.getStorageDescriptor()).accessKey, 'FIRSTKEY');
    await server.removeCredential('FIRSTKEY');
    const descriptor = await server.getStorageDescriptor();
    assert.equal(descriptor.accessKey, 'NEXTKEY');
    assert.equal(descriptor.accessSecret, 'next-secret');
    const s3 = new S3Client(await server.getS3ClientConfig());
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'descriptor-bucket' }));
      assert.deepEqual((await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name), ['descriptor-bucket']);
      // createBucket over IPC records the descriptor's key as the owner too.
      await server.createBucket('ipc-bucket');
      assert.deepEqual((await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name), ['descriptor-bucket', 'ipc-bucket']);
    } finally {
      s3.destroy();
    }
  });

  test('the last credential cannot be removed while auth is enabled', async () => {
    assert.deepEqual(await server.listCredentials(), ['NEXTKEY']);
    await assert.rejects(server.removeCredential('NEXTKEY'), (e: unknown) => {
      assert.ok(e instanceof SmartStorageError);
      assert.equal(e.code, 'LastCredential');
      assert.match(e.message, /add another credential first/);
      return true;
    });
  });

  test('credentials changed at runtime survive a stop and start of the same object', async () => {
    await server.stop();
    await server.start();
    assert.deepEqual(await server.listCredentials(), ['NEXTKEY']);
    const s3 = new S3Client(await server.getS3ClientConfig());
    try {
      assert.deepEqual((await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name), ['descriptor-bucket', 'ipc-bucket']);
    } finally {
      s3.destroy();
    }
  });
});
