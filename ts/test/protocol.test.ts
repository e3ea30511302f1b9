import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { errorResponseSchema, eventSchema, methods, okResponseSchema, parseRequest, PROTOCOL_VERSION, type MethodName } from '../protocol.js';
import { protocolFixtures, repoRoot } from './helpers.js';

test('every protocol fixture parses with the zod schemas', () => {
  const fixtures = protocolFixtures();
  assert.ok(fixtures.length >= 15, 'fixtures missing');
  for (const [name, message] of fixtures) {
    const [kind, what] = name.replace(/\.json$/, '').split('.') as [string, string];
    switch (kind) {
      case 'event':
        eventSchema.parse(message);
        break;
      case 'request':
        assert.equal(parseRequest(message).method, what, name);
        break;
      case 'response': {
        const response = okResponseSchema.parse(message);
        const method = methods[what as MethodName];
        assert.ok(method, `${name}: no such method`);
        const parsed = method.result.safeParse(response.result);
        assert.ok(parsed.success, `${name}: ${parsed.error?.message}`);
        break;
      }
      case 'error':
        errorResponseSchema.parse(message);
        break;
      case 'config':
        break; // covered by the config tests
      default:
        assert.fail(`${name}: unknown fixture kind ${kind}`);
    }
  }
});

test('every method has a request and a response fixture', () => {
  const names = new Set(protocolFixtures().map(([name]) => name));
  for (const method of Object.keys(methods)) {
    assert.ok(names.has(`request.${method}.json`), `missing request.${method}.json`);
    assert.ok(names.has(`response.${method}.json`), `missing response.${method}.json`);
  }
});

test('the ready fixture carries the protocol version this package speaks', () => {
  const ready = protocolFixtures().find(([name]) => name === 'event.ready.json')![1];
  assert.equal(eventSchema.parse(ready).data.protocol, PROTOCOL_VERSION);
});

test('results with unknown fields are refused rather than silently accepted', () => {
  assert.equal(methods.createBucket.result.safeParse({ name: 'b', extra: 1 }).success, false);
  assert.equal(methods.start.result.safeParse({ host: 'localhost', port: 0, address: 'x' }).success, false);
});

test('the npm package and the Rust workspace carry the same version', () => {
  const cargo = readFileSync(join(repoRoot, 'Cargo.toml'), 'utf8');
  const workspaceVersion = /\[workspace\.package\][^[]*?\bversion\s*=\s*"([^"]+)"/.exec(cargo)?.[1];
  const npmVersion = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
  assert.equal(workspaceVersion, npmVersion, 'bump both Cargo.toml [workspace.package] version and package.json version');
});
