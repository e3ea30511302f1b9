import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BinaryExitedError,
  NotRunningError,
  ProtocolError,
  ProtocolMismatchError,
  RequestTimeoutError,
  SmartStorageError,
} from '../errors.js';
import { IpcChannel } from '../ipc.js';
import { PROTOCOL_VERSION } from '../protocol.js';
import type { ILogEntry } from '../logs.js';
import { SmartStorage } from '../smartstorage.js';
import { fakeBinary, isAlive, waitFor } from './helpers.js';

function fake(mode: string, options: { requestTimeoutMs?: number; stopTimeoutMs?: number; startTimeoutMs?: number } = {}) {
  return new SmartStorage({ server: { port: 0 } }, { binaryPath: fakeBinary(), env: { FAKE_MODE: mode }, ...options });
}

describe('IPC against the fake server', () => {
  test('requests and responses are matched, validated and typed', async () => {
    const s = fake('normal');
    await s.start();
    try {
      assert.equal(s.port, 40404);
      assert.deepEqual(await s.createBucket('alpha'), { name: 'alpha' });
      const list = await s.listBuckets();
      assert.equal(list.length, 1);
      assert.ok(list[0]!.creationDate instanceof Date);
      await s.deleteBucket('alpha');
      assert.deepEqual(await s.listBuckets(), []);
    } finally {
      await s.stop();
    }
  });

  test('concurrent requests each get their own answer', async () => {
    const s = fake('normal');
    await s.start();
    try {
      const names = Array.from({ length: 20 }, (_, i) => `bucket-${i}`);
      const results = await Promise.all(names.map((n) => s.createBucket(n)));
      assert.deepEqual(results.map((r) => r.name), names);
    } finally {
      await s.stop();
    }
  });

  test('an error answer rejects with the binary error code and message', async () => {
    const s = fake('normal');
    await s.start();
    try {
      await assert.rejects(s.deleteBucket('missing'), (e: SmartStorageError) => e.code === 'NoSuchBucket' && /missing/.test(e.message));
    } finally {
      await s.stop();
    }
  });

  test('garbage lines on stdout are skipped with a warning and answers still arrive', async () => {
    const s = fake('garbage');
    const warnings: ILogEntry[] = [];
    s.on('log', (e) => e.level === 'warn' && warnings.push(e));
    await s.start();
    try {
      assert.deepEqual(await s.createBucket('alpha'), { name: 'alpha' });
      assert.ok(warnings.some((w) => /not JSON/.test(w.message)), 'no warning about the garbage line');
      assert.ok(warnings.some((w) => /not a protocol message/.test(w.message)));
      assert.ok(warnings.some((w) => /unknown or timed-out request id 424242/.test(w.message)));
    } finally {
      await s.stop();
    }
  });

  test('a line split across several writes is reassembled', async () => {
    const s = fake('split');
    await s.start();
    try {
      assert.deepEqual(await s.createBucket('alpha'), { name: 'alpha' });
    } finally {
      await s.stop();
    }
  });

  test('a request without an answer times out and later requests still work', async () => {
    const s = fake('hang', { requestTimeoutMs: 200 });
    await s.start();
    try {
      const t = Date.now();
      await assert.rejects(s.createBucket('never'), RequestTimeoutError);
      assert.ok(Date.now() - t < 2000);
      assert.deepEqual(await s.listBuckets(), []);
    } finally {
      await s.stop();
    }
  });

  test('a crash mid-request rejects the pending call with the exit status and last stderr lines', async () => {
    const s = fake('crash');
    const exits: unknown[] = [];
    s.on('exit', (info) => exits.push(info));
    await s.start();
    const pending = s.createBucket('boom');
    await assert.rejects(pending, (e: unknown) => {
      assert.ok(e instanceof BinaryExitedError);
      assert.equal(e.exitCode, 101);
      assert.match(e.message, /exited with code 101 while "createBucket" was pending/);
      assert.match(e.message, /simulated crash/);
      return true;
    });
    assert.equal(exits.length, 1);
    assert.equal(s.running, false);
    await assert.rejects(s.listBuckets(), NotRunningError);
    await s.stop();
  });

  test('a binary speaking another protocol version is refused with a rebuild hint', async () => {
    const s = fake('protocol');
    await assert.rejects(s.start(), (e: unknown) => {
      assert.ok(e instanceof ProtocolMismatchError);
      assert.match(e.message, new RegExp(`protocol 99, but this package expects protocol ${PROTOCOL_VERSION}`));
      assert.match(e.message, /npm run build:rust/);
      return true;
    });
    assert.equal(s.running, false);
  });

  test('a binary that exits before ready rejects start with its stderr', async () => {
    const s = fake('noready');
    await assert.rejects(s.start(), (e: unknown) => e instanceof BinaryExitedError && /frobnicator/.test(e.message) && e.exitCode === 3);
  });

  test('a binary that never reports ready times out and is killed', async () => {
    const s = fake('silent', { startTimeoutMs: 300 });
    let pid: number | undefined;
    s.on('exit', () => {});
    await assert.rejects(s.start(), (e: SmartStorageError) => e.code === 'StartTimeout' && /did not report ready within/.test(e.message));
    pid = s.pid;
    assert.equal(pid, undefined);
  });

  test('a result that does not match the schema is a protocol error', async () => {
    const s = fake('badresult');
    await s.start();
    try {
      await assert.rejects(s.createBucket('alpha'), ProtocolError);
    } finally {
      await s.stop();
    }
  });

  test('stop kills a binary that ignores stop and stdin EOF after the grace period', async () => {
    const s = fake('stubborn', { stopTimeoutMs: 300 });
    await s.start();
    const pid = s.pid!;
    const t = Date.now();
    await s.stop();
    assert.ok(Date.now() - t < 3000, `stop took ${Date.now() - t} ms`);
    assert.ok(await waitFor(() => !isAlive(pid), 1000), 'still alive');
  });

  test('log events are parsed from JSON stderr lines and silenced by server.silent', async () => {
    const loud = fake('normal');
    const entries: ILogEntry[] = [];
    loud.on('log', (e) => entries.push(e));
    await loud.start();
    await loud.stop();
    const ready = entries.find((e) => e.message === 'fake ready');
    assert.ok(ready, 'no parsed log entry');
    assert.equal(ready.level, 'info');
    assert.equal(ready.fields.mode, 'normal');

    const quiet = new SmartStorage({ server: { port: 0, silent: true } }, { binaryPath: fakeBinary(), env: { FAKE_MODE: 'normal' } });
    const none: ILogEntry[] = [];
    quiet.on('log', (e) => none.push(e));
    await quiet.start();
    await quiet.stop();
    assert.deepEqual(none, []);
  });

  test('the channel survives requests after the process exited by rejecting at once', async () => {
    const { channel } = await IpcChannel.open({ binaryPath: fakeBinary(), readyTimeoutMs: 5000, env: { FAKE_MODE: 'normal' } });
    channel.endInput();
    await channel.waitForExit();
    await assert.rejects(channel.request('listBuckets', undefined, 1000), BinaryExitedError);
  });
});
