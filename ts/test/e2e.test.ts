import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, realpathSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, ListBucketsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BinaryExitedError, SmartStorageError } from '../errors.js';
import type { IExitInfo } from '../ipc.js';
import { SmartStorage } from '../smartstorage.js';
import { isAlive, repoRoot, tempDir, waitFor } from './helpers.js';

/** Each test gets its own data directory under one temp root. */
const root = tempDir('smartstorage-e2e-');
after(() => root.cleanup());
let counter = 0;
const dataDir = () => join(root.path, `data-${++counter}`);
const testConfig = (extra: { storage?: object; server?: object } = {}) => ({
  server: { port: 0, address: '127.0.0.1', ...extra.server },
  storage: { directory: dataDir(), fsync: false, ...extra.storage },
});

describe('SmartStorage with the real binary', () => {
  test('createAndStart on port 0 serves an AWS SDK v3 put/get round trip, then stops', async () => {
    const storage = await SmartStorage.createAndStart(testConfig());
    try {
      assert.ok(storage.port > 0);
      const s3 = new S3Client(await storage.getS3ClientConfig());
      try {
        await storage.createBucket('roundtrip');
        const body = 'hello from the AWS SDK ' + 'x'.repeat(10_000);
        await s3.send(new PutObjectCommand({ Bucket: 'roundtrip', Key: 'dir/hello.txt', Body: body, ContentType: 'text/plain' }));
        const got = await s3.send(new GetObjectCommand({ Bucket: 'roundtrip', Key: 'dir/hello.txt' }));
        assert.equal(await got.Body!.transformToString(), body);
        assert.equal(got.ContentType, 'text/plain');
        const listed = await s3.send(new ListBucketsCommand({}));
        assert.deepEqual(listed.Buckets?.map((b) => b.Name), ['roundtrip']);
      } finally {
        s3.destroy();
      }
    } finally {
      await storage.stop();
    }
    assert.equal(storage.running, false);
  });

  test('the storage descriptor and S3 client config point at the bound port', async () => {
    const storage = await SmartStorage.createAndStart({ ...testConfig(), server: { port: 0, address: '127.0.0.1', region: 'eu-central-1' } });
    try {
      assert.deepEqual(await storage.getStorageDescriptor(), {
        endpoint: 'localhost',
        port: storage.port,
        accessKey: 'STORAGE',
        accessSecret: 'STORAGE',
        useSsl: false,
        region: 'eu-central-1',
      });
      assert.equal((await storage.getStorageDescriptor({ host: 'storage.test' })).endpoint, 'storage.test');
      assert.deepEqual(await storage.getS3ClientConfig(), {
        endpoint: `http://localhost:${storage.port}`,
        region: 'eu-central-1',
        credentials: { accessKeyId: 'STORAGE', secretAccessKey: 'STORAGE' },
        forcePathStyle: true,
      });
    } finally {
      await storage.stop();
    }
  });

  test('buckets are managed over IPC with S3 error codes', async () => {
    const storage = await SmartStorage.createAndStart(testConfig());
    try {
      assert.deepEqual(await storage.createBucket('alpha'), { name: 'alpha' });
      await assert.rejects(storage.createBucket('alpha'), (e: SmartStorageError) => e.code === 'BucketAlreadyOwnedByYou');
      await assert.rejects(storage.createBucket('Not_Valid'), (e: SmartStorageError) => e.code === 'InvalidBucketName');
      const [bucket] = await storage.listBuckets();
      assert.equal(bucket?.name, 'alpha');
      assert.ok(Math.abs(bucket!.creationDate.getTime() - Date.now()) < 60_000);
      const status = await storage.status();
      assert.equal(status.running, true);
      assert.equal(status.port, storage.port);
      assert.equal(status.bucketCount, 1);
      await storage.deleteBucket('alpha');
      await assert.rejects(storage.deleteBucket('alpha'), (e: SmartStorageError) => e.code === 'NoSuchBucket');
      const cluster = await storage.clusterStatus();
      assert.equal(cluster.mode, 'standalone');
      assert.equal(cluster.nodes.length, 1);
      assert.equal(cluster.nodes[0]!.endpoint, `localhost:${storage.port}`);
      assert.equal(cluster.erasure, null);
    } finally {
      await storage.stop();
    }
  });

  test('ten instances started in parallel on port 0 get ten different ports', async () => {
    const instances = await Promise.all(Array.from({ length: 10 }, () => SmartStorage.createAndStart(testConfig())));
    try {
      const ports = new Set(instances.map((s) => s.port));
      assert.equal(ports.size, 10);
      await Promise.all(instances.map((s, i) => s.createBucket(`bucket-${i}`)));
      for (const [i, s] of instances.entries()) {
        assert.deepEqual((await s.listBuckets()).map((b) => b.name), [`bucket-${i}`]);
      }
    } finally {
      await Promise.all(instances.map((s) => s.stop()));
    }
  });

  test('cleanSlate wipes the directory at start, and without it data persists', async () => {
    const directory = dataDir();
    const first = await SmartStorage.createAndStart(testConfig({ storage: { directory } }));
    await first.createBucket('kept');
    await first.stop();

    const second = await SmartStorage.createAndStart(testConfig({ storage: { directory } }));
    assert.deepEqual((await second.listBuckets()).map((b) => b.name), ['kept']);
    await second.stop();

    const third = await SmartStorage.createAndStart(testConfig({ storage: { directory, cleanSlate: true } }));
    assert.deepEqual(await third.listBuckets(), []);
    await third.stop();
  });

  test('stop() twice, concurrently or in sequence, is harmless', async () => {
    const storage = await SmartStorage.createAndStart(testConfig());
    const exits: IExitInfo[] = [];
    storage.on('exit', (info) => exits.push(info));
    await Promise.all([storage.stop(), storage.stop()]);
    await storage.stop();
    assert.equal(exits.length, 1);
    assert.equal(exits[0]!.code, 0);
    await new SmartStorage(testConfig()).stop();
  });

  test('a stopped instance can be started again', async () => {
    const storage = new SmartStorage(testConfig());
    await storage.start();
    await storage.stop();
    await storage.start();
    try {
      assert.deepEqual(await storage.listBuckets(), []);
    } finally {
      await storage.stop();
    }
  });

  test('await using stops the server when the scope ends', async () => {
    let pid: number | undefined;
    let port: number | undefined;
    {
      await using storage = await SmartStorage.createAndStart(testConfig());
      pid = storage.pid;
      port = storage.port;
      assert.ok(pid && isAlive(pid));
    }
    assert.ok(await waitFor(() => !isAlive(pid!), 2000), 'binary still running after the scope ended');
    await assert.rejects(fetch(`http://127.0.0.1:${port}/_smartstorage/health`));
  });

  test('a killed binary rejects in-flight calls and emits exit', async () => {
    const storage = await SmartStorage.createAndStart(testConfig());
    const exited = new Promise<IExitInfo>((resolve) => storage.once('exit', resolve));
    const pid = storage.pid!;
    process.kill(pid, 'SIGSTOP'); // the request below can then not be answered before the kill
    const inFlight = storage.listBuckets();
    process.kill(pid, 'SIGKILL');
    await assert.rejects(inFlight, (e: unknown) => {
      assert.ok(e instanceof BinaryExitedError);
      assert.equal(e.signal, 'SIGKILL');
      assert.match(e.message, /killed by SIGKILL while "listBuckets" was pending/);
      return true;
    });
    const info = await exited;
    assert.equal(info.signal, 'SIGKILL');
    assert.equal(storage.running, false);
    await storage.stop();
  });

  test('the binary exits within a second when its Node parent is SIGKILLed', async () => {
    const script = join(root.path, 'parent.mts');
    writeFileSync(
      script,
      `import { SmartStorage } from ${JSON.stringify(join(repoRoot, 'ts', 'smartstorage.ts'))};\n` +
        `const s = await SmartStorage.createAndStart(${JSON.stringify(testConfig())});\n` +
        'process.stdout.write(String(s.pid) + "\\n");\n' +
        'setInterval(() => {}, 1000);\n',
    );
    const parent = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    const binaryPid = await new Promise<number>((resolve, reject) => {
      let out = '';
      parent.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(Number(out.trim()));
      });
      parent.on('exit', (code) => reject(new Error(`parent exited early with ${code}`)));
    });
    assert.ok(isAlive(binaryPid));
    parent.kill('SIGKILL');
    const t = Date.now();
    assert.ok(await waitFor(() => !isAlive(binaryPid), 1000), 'binary outlived its parent by more than a second');
    assert.ok(Date.now() - t <= 1000);
  });

  test('a taken port fails start with BindFailed and leaves no process behind', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const storage = new SmartStorage(testConfig({ server: { port } }));
      let exited = false;
      storage.on('exit', () => (exited = true));
      await assert.rejects(storage.start(), (e: SmartStorageError) => e.code === 'BindFailed' && e.message.includes(String(port)));
      assert.equal(storage.running, false);
      assert.ok(exited, 'binary process was not reaped');
    } finally {
      blocker.close();
    }
  });

  test('cluster mode is refused clearly until it exists', async () => {
    const storage = new SmartStorage({ ...testConfig(), cluster: { enabled: true } });
    await assert.rejects(storage.start(), (e: SmartStorageError) => e.code === 'NotSupported' && /cluster/.test(e.message));
  });

  test('log events carry the binary structured logs', async () => {
    const storage = new SmartStorage(testConfig());
    const messages: string[] = [];
    storage.on('log', (entry) => messages.push(entry.message));
    await storage.start();
    await storage.stop();
    assert.ok(messages.includes('S3 endpoint ready'), `got: ${messages.join(' | ')}`);
  });

  test('the data directory is created where the config says', async () => {
    const directory = dataDir();
    const storage = await SmartStorage.createAndStart(testConfig({ storage: { directory } }));
    try {
      assert.ok(existsSync(directory));
      assert.equal((await storage.status()).directory, realpathSync(directory));
    } finally {
      await storage.stop();
    }
  });
});
