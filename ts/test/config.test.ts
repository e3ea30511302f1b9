import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveConfig, smartStorageConfigSchema } from '../config.js';
import { InvalidConfigError } from '../errors.js';
import { SmartStorage } from '../smartstorage.js';
import { protocolFixtures } from './helpers.js';

describe('config defaults', () => {
  const c = resolveConfig();

  test('an empty config resolves to exactly the documented defaults shared with Rust', () => {
    const fixture = protocolFixtures().find(([name]) => name === 'config.defaults.json')![1];
    assert.deepEqual(c, fixture);
    assert.deepEqual(resolveConfig({}), fixture);
  });

  const expected: Array<[string, unknown]> = [
    ['server.port', 3000],
    ['server.address', '0.0.0.0'],
    ['server.silent', false],
    ['server.region', 'us-east-1'],
    ['server.domain', 'localhost'],
    ['storage.directory', '.nogit/bucketsDir'],
    ['storage.cleanSlate', false],
    ['storage.fsync', true],
    ['auth.enabled', false],
    ['auth.credentials', [{ accessKeyId: 'STORAGE', secretAccessKey: 'STORAGE' }]],
    ['cors.enabled', false],
    ['cors.allowedOrigins', ['*']],
    ['cors.allowedMethods', ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS']],
    ['cors.allowedHeaders', ['*']],
    ['cors.exposedHeaders', ['ETag', 'x-amz-request-id', 'x-amz-version-id']],
    ['cors.maxAge', 86400],
    ['cors.allowCredentials', false],
    ['logging.level', 'info'],
    ['logging.format', 'text'],
    ['logging.enabled', true],
    ['limits.maxObjectSize', 5 * 1024 ** 3],
    ['limits.maxMetadataSize', 2048],
    ['limits.requestTimeout', 300000],
    ['multipart.expirationDays', 7],
    ['multipart.cleanupIntervalMinutes', 60],
  ];
  for (const [path, value] of expected) {
    test(`${path} defaults to ${JSON.stringify(value)}`, () => {
      const actual = path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], c);
      assert.deepEqual(actual, value);
    });
  }

  test('cluster is absent unless given, and gets its own defaults when given', () => {
    assert.equal(c.cluster, undefined);
    assert.deepEqual(resolveConfig({ cluster: {} }).cluster, {
      enabled: false,
      quicPort: 4000,
      seedNodes: [],
      erasure: { dataShards: 4, parityShards: 2, chunkSizeBytes: 4194304 },
      drives: { paths: [] },
      heartbeatIntervalMs: 5000,
      heartbeatTimeoutMs: 30000,
    });
  });

  test('a partial section keeps the defaults of the fields it does not set', () => {
    const r = resolveConfig({ server: { port: 0 }, storage: { cleanSlate: true } });
    assert.equal(r.server.port, 0);
    assert.equal(r.server.address, '0.0.0.0');
    assert.equal(r.storage.cleanSlate, true);
    assert.equal(r.storage.directory, '.nogit/bucketsDir');
  });

  test('the default credentials are not shared between resolved configs', () => {
    const a = resolveConfig();
    a.auth.credentials.push({ accessKeyId: 'x', secretAccessKey: 'y' });
    assert.equal(resolveConfig().auth.credentials.length, 1);
  });
});

describe('config validation', () => {
  const bad: Array<[string, unknown, RegExp]> = [
    ['server.port above 65535', { server: { port: 70000 } }, /server\.port: got 70000, expected .*0 to 65535/],
    ['server.port negative', { server: { port: -1 } }, /server\.port: got -1/],
    ['server.port fractional', { server: { port: 80.5 } }, /server\.port: got 80\.5/],
    ['server.port as a string', { server: { port: '3000' } }, /server\.port: got "3000"/],
    ['server.address not an IP', { server: { address: 'example' } }, /server\.address: got "example", expected an IP address/],
    ['server.silent not boolean', { server: { silent: 'yes' } }, /server\.silent: got "yes", expected true or false/],
    ['server.region with capitals', { server: { region: 'US-EAST-1' } }, /server\.region: got "US-EAST-1", expected a region name/],
    ['server.domain empty', { server: { domain: '' } }, /server\.domain: got "", expected a domain name/],
    ['storage.directory empty', { storage: { directory: '' } }, /storage\.directory: got "", expected a directory path/],
    ['storage.cleanSlate not boolean', { storage: { cleanSlate: 1 } }, /storage\.cleanSlate: got 1/],
    ['storage.fsync not boolean', { storage: { fsync: 'no' } }, /storage\.fsync: got "no"/],
    ['auth.enabled without credentials', { auth: { enabled: true, credentials: [] } }, /auth\.credentials: got \[\], expected at least one credential/],
    ['auth.credentials entry incomplete', { auth: { credentials: [{ accessKeyId: 'a' }] } }, /auth\.credentials\.0\.secretAccessKey: missing/],
    ['auth.credentials entry with an unknown field', { auth: { credentials: [{ accessKeyId: 'a', secretAccessKey: 'b', role: 'x' }] } }, /auth\.credentials\.0\.role: unknown field; allowed: accessKeyId, secretAccessKey/],
    ['auth.credentials access key id with a space', { auth: { credentials: [{ accessKeyId: 'my key', secretAccessKey: 'b' }] } }, /auth\.credentials\.0\.accessKeyId: got "my key", expected 1-128 visible ASCII characters other than '\/', ',', '=' and ';'/],
    ['auth.credentials access key id with a slash', { auth: { credentials: [{ accessKeyId: 'a/b', secretAccessKey: 'b' }] } }, /auth\.credentials\.0\.accessKeyId: got "a\/b"/],
    ['auth.credentials access key id empty', { auth: { credentials: [{ accessKeyId: '', secretAccessKey: 'b' }] } }, /auth\.credentials\.0\.accessKeyId: got "", expected 1-128/],
    ['auth.credentials access key id too long', { auth: { credentials: [{ accessKeyId: 'K'.repeat(129), secretAccessKey: 'b' }] } }, /auth\.credentials\.0\.accessKeyId: got "K{10}/],
    ['auth.credentials secret with a space', { auth: { credentials: [{ accessKeyId: 'A', secretAccessKey: 'hunter 2' }] } }, /^(?![\s\S]*hunter)[\s\S]*auth\.credentials\.0\.secretAccessKey: got a secret with a space at character 7 \(value hidden\), expected 1-256 visible ASCII characters/],
    ['auth.credentials secret empty', { auth: { credentials: [{ accessKeyId: 'A', secretAccessKey: '' }] } }, /auth\.credentials\.0\.secretAccessKey: got an empty secret/],
    ['auth.credentials secret with a non-ASCII character', { auth: { credentials: [{ accessKeyId: 'A', secretAccessKey: 'pässword' }] } }, /secretAccessKey: got a secret with a non-ASCII character at character 2 \(value hidden\)/],
    ['auth.credentials secret too long', { auth: { credentials: [{ accessKeyId: 'A', secretAccessKey: 'x'.repeat(257) }] } }, /secretAccessKey: got a secret of 257 bytes \(value hidden\)/],
    ['auth.credentials with a repeated access key id', { auth: { credentials: [{ accessKeyId: 'A', secretAccessKey: 'one' }, { accessKeyId: 'A', secretAccessKey: 'two' }] } }, /auth\.credentials\.1\.accessKeyId: got "A", expected an access key id not already used by auth\.credentials\.0/],
    ['cors.allowedMethods with an unknown method', { cors: { allowedMethods: ['GET', 'PATCH'] } }, /cors\.allowedMethods\.1: got "PATCH", expected one of GET, POST, PUT, DELETE, HEAD, OPTIONS/],
    ['cors.allowedOrigins not a list', { cors: { allowedOrigins: '*' } }, /cors\.allowedOrigins: got "\*", expected a list of origins/],
    ['cors.maxAge negative', { cors: { maxAge: -5 } }, /cors\.maxAge: got -5/],
    ['logging.level unknown', { logging: { level: 'verbose' } }, /logging\.level: got "verbose", expected one of "error", "warn", "info", "debug"/],
    ['logging.format unknown', { logging: { format: 'xml' } }, /logging\.format: got "xml", expected "text" or "json"/],
    ['limits.maxObjectSize zero', { limits: { maxObjectSize: 0 } }, /limits\.maxObjectSize: got 0, expected a size in bytes: a positive integer/],
    ['limits.maxMetadataSize fractional', { limits: { maxMetadataSize: 1.5 } }, /limits\.maxMetadataSize: got 1\.5/],
    ['limits.requestTimeout negative', { limits: { requestTimeout: -1 } }, /limits\.requestTimeout: got -1, expected a duration in milliseconds/],
    ['multipart.expirationDays zero', { multipart: { expirationDays: 0 } }, /multipart\.expirationDays: got 0, expected a number of days/],
    ['multipart.cleanupIntervalMinutes infinite', { multipart: { cleanupIntervalMinutes: Infinity } }, /multipart\.cleanupIntervalMinutes: got Infinity/],
    ['cluster.quicPort out of range', { cluster: { quicPort: 99999 } }, /cluster\.quicPort: got 99999/],
    ['cluster.seedNodes entry without a port', { cluster: { seedNodes: ['10.0.0.2'] } }, /cluster\.seedNodes\.0: got "10\.0\.0\.2", expected "host:port"/],
    ['cluster.erasure too many shards', { cluster: { erasure: { dataShards: 200, parityShards: 100 } } }, /cluster\.erasure\.parityShards: got 100, expected dataShards \+ parityShards to be at most 256/],
    ['cluster.erasure.dataShards zero', { cluster: { erasure: { dataShards: 0 } } }, /cluster\.erasure\.dataShards: got 0/],
    ['cluster heartbeat timeout not above interval', { cluster: { heartbeatIntervalMs: 5000, heartbeatTimeoutMs: 5000 } }, /cluster\.heartbeatTimeoutMs: got 5000, expected heartbeatTimeoutMs to be greater/],
    ['an unknown top-level field', { sever: {} }, /sever: unknown field; allowed: server, storage, auth, cors, logging, limits, multipart, cluster/],
    ['an unknown nested field', { storage: { cleanslate: true } }, /storage\.cleanslate: unknown field; allowed: directory, cleanSlate, fsync/],
    ['a config that is not an object', 42, /\(config\): got 42, expected a config object/],
  ];
  for (const [what, config, message] of bad) {
    test(`rejects ${what}, naming the field, the value and what is allowed`, () => {
      assert.throws(() => resolveConfig(config as never), (error: unknown) => {
        assert.ok(error instanceof InvalidConfigError, `not an InvalidConfigError: ${String(error)}`);
        assert.equal(error.code, 'InvalidConfig');
        assert.match(error.message, message);
        return true;
      });
    });
  }

  test('accepts AWS-style credentials and the default one', () => {
    const config = resolveConfig({
      auth: { enabled: true, credentials: [{ accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }, { accessKeyId: 'STORAGE', secretAccessKey: 'STORAGE' }] },
    });
    assert.equal(config.auth.credentials.length, 2);
  });

  test('reports every problem at once', () => {
    assert.throws(
      () => resolveConfig({ server: { port: -1 }, logging: { level: 'loud' as never } }),
      (error: InvalidConfigError) => error.problems.length === 2,
    );
  });

  test('the constructor rejects a bad config before any process starts', () => {
    assert.throws(() => new SmartStorage({ server: { port: 99999 } }, { binaryPath: '/nonexistent/binary' }), InvalidConfigError);
  });

  test('every config fixture shared with the Rust tests is accepted', () => {
    for (const [name, fixture] of protocolFixtures().filter(([n]) => n.startsWith('config.'))) {
      const parsed = smartStorageConfigSchema.safeParse(fixture);
      assert.ok(parsed.success, `${name}: ${parsed.error?.message}`);
    }
  });
});
