// Every core S3 operation through @aws-sdk/client-s3 at its default settings
// (CRC32 checksums in aws-chunked trailers), against the real binary.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketLocationCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { SmartStorage } from '../smartstorage.js';
import { tempDir } from './helpers.js';

const root = tempDir('smartstorage-sdk-');
let storage: SmartStorage;
let s3: S3Client;
let baseUrl: string;

before(async () => {
  storage = await SmartStorage.createAndStart({
    server: { port: 0, address: '127.0.0.1' },
    storage: { directory: join(root.path, 'data'), fsync: false },
  });
  s3 = new S3Client(await storage.getS3ClientConfig());
  baseUrl = `http://127.0.0.1:${storage.port}`;
});

after(async () => {
  s3?.destroy();
  await storage?.stop();
  root.cleanup();
});

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

/** A GET whose path is sent byte for byte as given. */
function rawGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: storage.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const md5 = (data: Uint8Array | string) => createHash('md5').update(data).digest('hex');
let bucketCounter = 0;
async function newBucket(): Promise<string> {
  const name = `sdk-bucket-${++bucketCounter}-${Date.now()}`;
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  return name;
}

describe('buckets through the AWS SDK', () => {
  test('a created bucket is listed, headed, located and deleted', async () => {
    const bucket = await newBucket();
    const listed = await s3.send(new ListBucketsCommand({}));
    assert.ok(listed.Buckets?.some((b) => b.Name === bucket));
    assert.ok(listed.Owner?.ID);
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    const location = await s3.send(new GetBucketLocationCommand({ Bucket: bucket }));
    assert.equal(location.LocationConstraint ?? '', '');
    const versioning = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }));
    assert.equal(versioning.Status, undefined);
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    const err = await s3Error(s3.send(new HeadBucketCommand({ Bucket: bucket })));
    assert.equal(err.$metadata.httpStatusCode, 404);
  });

  test('bucket errors carry the AWS codes', async () => {
    const bucket = await newBucket();
    assert.equal((await s3Error(s3.send(new CreateBucketCommand({ Bucket: bucket })))).name, 'BucketAlreadyOwnedByYou');
    assert.equal((await s3Error(s3.send(new CreateBucketCommand({ Bucket: 'Invalid_Name' })))).name, 'InvalidBucketName');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x' }));
    assert.equal((await s3Error(s3.send(new DeleteBucketCommand({ Bucket: bucket })))).name, 'BucketNotEmpty');
    assert.equal((await s3Error(s3.send(new ListObjectsV2Command({ Bucket: 'no-such-bucket-here' })))).name, 'NoSuchBucket');
  });
});

describe('objects through the AWS SDK', () => {
  let bucket: string;
  before(async () => {
    bucket = await newBucket();
  });

  test('binary bodies sent with the default CRC32 trailer are stored byte for byte', async () => {
    const body = randomBytes(3 * 1024 * 1024 + 17);
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'bin/data.bin', Body: body }));
    assert.equal(put.ETag, `"${md5(body)}"`);
    assert.ok(put.ChecksumCRC32, 'the server returns the CRC32 the SDK sent');
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'bin/data.bin', ChecksumMode: 'ENABLED' }));
    const bytes = await got.Body!.transformToByteArray();
    assert.equal(bytes.length, body.length);
    assert.equal(md5(bytes), md5(body));
    assert.equal(got.ChecksumCRC32, put.ChecksumCRC32);
  });

  test('metadata, content headers and the default content type round-trip', async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'meta.txt',
        Body: 'meta',
        ContentType: 'text/plain; charset=utf-8',
        ContentDisposition: 'attachment; filename="m.txt"',
        ContentLanguage: 'de',
        CacheControl: 'max-age=60',
        Metadata: { Color: 'blue', 'multi-word': 'a b c' },
      }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'meta.txt' }));
    assert.equal(head.ContentType, 'text/plain; charset=utf-8');
    assert.equal(head.ContentDisposition, 'attachment; filename="m.txt"');
    assert.equal(head.ContentLanguage, 'de');
    assert.equal(head.CacheControl, 'max-age=60');
    assert.deepEqual(head.Metadata, { color: 'blue', 'multi-word': 'a b c' });
    assert.equal(head.ContentLength, 4);
    assert.ok(head.LastModified instanceof Date);
    // The SDK labels binary bodies application/octet-stream; a raw PUT sends no type at all.
    const raw = await fetch(`${baseUrl}/${bucket}/untyped`, { method: 'PUT', body: new Uint8Array([1, 2, 3]) });
    assert.equal(raw.status, 200);
    const untyped = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'untyped' }));
    assert.equal(untyped.ContentType, 'binary/octet-stream');
  });

  test('ranges, conditionals and response overrides behave as S3', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'range.txt', Body: '0123456789' }));
    const part = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'range.txt', Range: 'bytes=2-5' }));
    assert.equal(await part.Body!.transformToString(), '2345');
    assert.equal(part.ContentRange, 'bytes 2-5/10');
    const tail = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'range.txt', Range: 'bytes=-3' }));
    assert.equal(await tail.Body!.transformToString(), '789');
    const bad = await s3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'range.txt', Range: 'bytes=20-' })));
    assert.equal(bad.name, 'InvalidRange');
    assert.equal(bad.$metadata.httpStatusCode, 416);
    const notModified = await s3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'range.txt', IfNoneMatch: put.ETag })));
    assert.equal(notModified.$metadata.httpStatusCode, 304);
    const failed = await s3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'range.txt', IfMatch: '"nope"' })));
    assert.equal(failed.$metadata.httpStatusCode, 412);
    const overridden = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: 'range.txt', ResponseContentType: 'text/csv', ResponseContentDisposition: 'inline' }),
    );
    assert.equal(overridden.ContentType, 'text/csv');
    assert.equal(overridden.ContentDisposition, 'inline');
    await overridden.Body!.transformToString();
  });

  test('conditional creates let exactly one of two racers win', async () => {
    const results = await Promise.allSettled(
      [1, 2].map((i) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'race', Body: `racer ${i}`, IfNoneMatch: '*' }))),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const loser = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.equal((loser.reason as S3ServiceException).$metadata.httpStatusCode, 412);
  });

  test('copies keep or replace metadata and accept URL-encoded sources', async () => {
    const key = 'src dir/ünï+code?.txt';
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'copy', Metadata: { a: '1' } }));
    const copySource = `${bucket}/${encodeURIComponent(key)}`;
    const copied = await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy-1', CopySource: copySource }));
    assert.equal(copied.CopyObjectResult?.ETag, `"${md5('copy')}"`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'copy-1' }));
    assert.deepEqual(head.Metadata, { a: '1' });
    await s3.send(
      new CopyObjectCommand({ Bucket: bucket, Key: 'copy-2', CopySource: copySource, MetadataDirective: 'REPLACE', Metadata: { b: '2' } }),
    );
    assert.deepEqual((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'copy-2' }))).Metadata, { b: '2' });
    const self = await s3Error(s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy-2', CopySource: `${bucket}/copy-2` })));
    assert.equal(self.name, 'InvalidRequest');
  });

  test('DeleteObject and DeleteObjects remove keys, quietly or not', async () => {
    for (const key of ['d1', 'd2', 'd3']) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'd1' }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'never-existed' }));
    const result = await s3.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'd2' }, { Key: 'd3' }, { Key: 'missing' }] } }),
    );
    assert.deepEqual(result.Deleted?.map((d) => d.Key).sort(), ['d2', 'd3', 'missing']);
    const quiet = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Quiet: true, Objects: [{ Key: 'd2' }] } }));
    assert.equal(quiet.Deleted, undefined);
    assert.equal((await s3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'd2' })))).name, 'NoSuchKey');
  });

  test('keys with dots, slashes, unicode and 1024 bytes round-trip', async () => {
    const keys = ['a', 'a/b', 'a//b', 'dir/', '../up', './here', '..', 'ü/名前/😀', 'with space', 'percent%2e%2e', 'k'.repeat(1024)];
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `weird/${key}`.slice(0, 1024), Body: key }));
    for (const key of keys) {
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `weird/${key}`.slice(0, 1024) }));
      assert.equal(await got.Body!.transformToString(), key);
    }
  });
});

describe('listing through the AWS SDK', () => {
  let bucket: string;
  const keys: string[] = [];
  before(async () => {
    bucket = await newBucket();
    for (let i = 0; i < 1100; i++) keys.push(`many/${String(i).padStart(5, '0')}`);
    keys.push('top.txt', 'dir1/a', 'dir1/b', 'dir2/c', 'ünï', 'a b');
    const queue = [...keys];
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let key = queue.pop(); key !== undefined; key = queue.pop()) {
          await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
        }
      }),
    );
  });

  test('ListObjectsV2 paginates every key once, in UTF-8 byte order', async () => {
    const seen: string[] = [];
    for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket })) {
      assert.ok((page.KeyCount ?? 0) <= 1000);
      for (const o of page.Contents ?? []) seen.push(o.Key!);
    }
    const expected = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    assert.deepEqual(seen, expected);
  });

  test('delimiters group common prefixes and KeyCount counts them', async () => {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Delimiter: '/' }));
    assert.deepEqual(page.CommonPrefixes?.map((p) => p.Prefix), ['dir1/', 'dir2/', 'many/']);
    assert.deepEqual(page.Contents?.map((c) => c.Key), ['a b', 'top.txt', 'ünï']);
    assert.equal(page.KeyCount, 6);
    const v1 = await s3.send(new ListObjectsCommand({ Bucket: bucket, Prefix: 'dir1/', MaxKeys: 1 }));
    assert.deepEqual(v1.Contents?.map((c) => c.Key), ['dir1/a']);
    assert.equal(v1.IsTruncated, true);
  });

  test('ListObjectVersions lists every object once with version null', async () => {
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'dir' }));
    assert.deepEqual(versions.Versions?.map((v) => [v.Key, v.VersionId, v.IsLatest]), [
      ['dir1/a', 'null', true],
      ['dir1/b', 'null', true],
      ['dir2/c', 'null', true],
    ]);
  });
});

describe('multipart uploads through the AWS SDK', () => {
  let bucket: string;
  before(async () => {
    bucket = await newBucket();
  });

  test('lib-storage Upload of 17 MiB in 5 MiB parts reads back identical, also by part number', async () => {
    const body = randomBytes(17 * 1024 * 1024);
    const upload = new Upload({ client: s3, params: { Bucket: bucket, Key: 'big.bin', Body: body }, partSize: 5 * 1024 * 1024, queueSize: 4 });
    const done = await upload.done();
    assert.match(done.ETag ?? '', /^"[0-9a-f]{32}-4"$/);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'big.bin' }));
    assert.equal(md5(await got.Body!.transformToByteArray()), md5(body));
    const part2 = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'big.bin', PartNumber: 2 }));
    assert.equal(part2.PartsCount, 4);
    assert.equal(md5(await part2.Body!.transformToByteArray()), md5(body.subarray(5 * 1024 * 1024, 10 * 1024 * 1024)));
  });

  test('parts can be listed, copied from another object, completed or aborted', async () => {
    const source = randomBytes(6 * 1024 * 1024);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'source', Body: source }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'assembled', ContentType: 'application/x-test' }));
    const p1 = await s3.send(
      new UploadPartCopyCommand({ Bucket: bucket, Key: 'assembled', UploadId, PartNumber: 1, CopySource: `${bucket}/source`, CopySourceRange: 'bytes=0-5242879' }),
    );
    const p2 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'assembled', UploadId, PartNumber: 2, Body: 'tail' }));
    const parts = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'assembled', UploadId }));
    assert.deepEqual(parts.Parts?.map((p) => [p.PartNumber, p.Size]), [
      [1, 5 * 1024 * 1024],
      [2, 4],
    ]);
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    assert.ok(uploads.Uploads?.some((u) => u.UploadId === UploadId));
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: 'assembled',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.CopyPartResult?.ETag }, { PartNumber: 2, ETag: p2.ETag }] },
      }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'assembled' }));
    assert.equal(got.ContentType, 'application/x-test');
    const bytes = await got.Body!.transformToByteArray();
    assert.equal(md5(bytes), md5(Buffer.concat([source.subarray(0, 5 * 1024 * 1024), Buffer.from('tail')])));

    const { UploadId: abortId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'aborted' }));
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'aborted', UploadId: abortId }));
    const gone = await s3Error(s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'aborted', UploadId: abortId })));
    assert.equal(gone.name, 'NoSuchUpload');
  });

  test('completing with small, missing or unordered parts fails with the AWS codes', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'bad' }));
    const a = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'bad', UploadId, PartNumber: 1, Body: 'small' }));
    const b = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'bad', UploadId, PartNumber: 2, Body: 'small' }));
    const complete = (parts: { PartNumber: number; ETag?: string }[]) =>
      s3Error(s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'bad', UploadId, MultipartUpload: { Parts: parts } })));
    assert.equal((await complete([{ PartNumber: 1, ETag: a.ETag }, { PartNumber: 2, ETag: b.ETag }])).name, 'EntityTooSmall');
    assert.equal((await complete([{ PartNumber: 2, ETag: b.ETag }, { PartNumber: 1, ETag: a.ETag }])).name, 'InvalidPartOrder');
    assert.equal((await complete([{ PartNumber: 3, ETag: a.ETag }])).name, 'InvalidPart');
  });
});

describe('raw HTTP edge cases', () => {
  test('malformed XML, bad ranges and traversal keys get S3 errors and the server keeps serving', async () => {
    const bucket = await newBucket();
    const malformed = await fetch(`${baseUrl}/${bucket}?delete`, { method: 'POST', body: '<Delete><Object>' });
    assert.equal(malformed.status, 400);
    assert.match(await malformed.text(), /<Code>MalformedXML<\/Code>/);
    await fetch(`${baseUrl}/${bucket}/r`, { method: 'PUT', body: 'abc' });
    const unsatisfiable = await fetch(`${baseUrl}/${bucket}/r`, { headers: { range: 'bytes=5-' } });
    assert.equal(unsatisfiable.status, 416);
    assert.equal(unsatisfiable.headers.get('content-range'), 'bytes */3');
    await unsatisfiable.text();
    const garbageRange = await fetch(`${baseUrl}/${bucket}/r`, { headers: { range: 'bytes=garbage' } });
    assert.equal(garbageRange.status, 200);
    assert.equal(await garbageRange.text(), 'abc');
    // node:http sends the path exactly as given (fetch would resolve the dot segments first).
    for (const path of ['..%2F..%2Fetc%2Fpasswd', '%2e%2e/%2e%2e/etc/passwd', '../../etc/passwd', '..%5C..%5Cwindows']) {
      const res = await rawGet(`/${bucket}/${path}`);
      assert.equal(res.status, 404, path);
      assert.match(res.body, /NoSuchKey/);
    }
    const oversized = await fetch(`${baseUrl}/${bucket}/meta`, { method: 'PUT', body: 'x', headers: { 'x-amz-meta-big': 'v'.repeat(3000) } });
    assert.equal(oversized.status, 400);
    assert.match(await oversized.text(), /MetadataTooLarge/);
    const health = await fetch(`${baseUrl}/_smartstorage/health`);
    assert.deepEqual(await health.json(), { status: 'ok' });
  });
});
