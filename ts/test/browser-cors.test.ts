/**
 * CORS proven in a real browser: pages served from other localhost origins
 * run `fetch()` uploads and downloads against a running SmartStorage in
 * headless Chromium (Debian's `chromium`, driven by `playwright-core`).
 *
 * Skips (with a message) only when no Chromium executable is installed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, PutBucketCorsCommand, S3Client } from '@aws-sdk/client-s3';
import { SmartStorage } from '../smartstorage.js';
import { tempDir } from './helpers.js';

/** Where Debian, Ubuntu and most distributions put Chromium; CHROMIUM_PATH overrides. */
const CHROMIUM_CANDIDATES = [
  process.env.CHROMIUM_PATH,
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
].filter((p): p is string => Boolean(p));

const chromiumPath = CHROMIUM_CANDIDATES.find((p) => existsSync(p));
const skip = chromiumPath ? false : `no Chromium found (tried ${CHROMIUM_CANDIDATES.join(', ')}); install it with \`apt-get install -y chromium\``;

/** A tiny page server: each server is its own origin (`http://127.0.0.1:<port>`). */
async function startPageServer(): Promise<{ server: Server; origin: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>cors test page</title><p>cross-origin page</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, origin: `http://127.0.0.1:${port}` };
}

const closeServer = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/** What the page reports about its fetches (errors as strings: they cross the CDP boundary). */
interface IPageResult {
  putStatus?: number;
  etag?: string | null;
  body?: string;
  postStatus?: number;
  postEtag?: string | null;
  formBody?: string;
  error?: string;
}

/** Runs in the page: PUT with a custom header (preflighted), GET, then a form POST. */
async function pageScript(endpoint: string): Promise<IPageResult> {
  try {
    const put = await fetch(`${endpoint}/browser/hello.txt`, {
      method: 'PUT',
      body: 'hello from the browser',
      headers: { 'content-type': 'text/plain', 'x-amz-meta-origin': 'page' },
    });
    const etag = put.headers.get('etag');
    const got = await fetch(`${endpoint}/browser/hello.txt`);
    const body = await got.text();
    const form = new FormData();
    form.append('key', 'forms/${filename}');
    form.append('Content-Type', 'text/plain');
    form.append('file', new Blob(['sent as a form']), 'form.txt');
    const post = await fetch(`${endpoint}/browser`, { method: 'POST', body: form });
    const formBody = await (await fetch(`${endpoint}/browser/forms/form.txt`)).text();
    return { putStatus: put.status, etag, body, postStatus: post.status, postEtag: post.headers.get('etag'), formBody };
  } catch (err) {
    return { error: String(err) };
  }
}

const md5 = (s: string) => `"${createHash('md5').update(s).digest('hex')}"`;

describe('CORS in headless Chromium', { skip }, () => {
  const root = tempDir('smartstorage-browser-');
  let storage: SmartStorage;
  let allowed: { server: Server; origin: string };
  let refused: { server: Server; origin: string };
  // Loaded lazily so that a machine without playwright-core still reports the skip above.
  let browser: import('playwright-core').Browser;
  let endpoint: string;

  before(async () => {
    allowed = await startPageServer();
    refused = await startPageServer();
    storage = await SmartStorage.createAndStart({
      server: { port: 0, address: '127.0.0.1', silent: true },
      storage: { directory: join(root.path, 'data'), fsync: false },
    });
    endpoint = `http://127.0.0.1:${storage.port}`;
    const s3 = new S3Client({ ...(await storage.getS3ClientConfig()), endpoint });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'browser' }));
      await s3.send(
        new PutBucketCorsCommand({
          Bucket: 'browser',
          CORSConfiguration: {
            CORSRules: [
              {
                AllowedOrigins: [allowed.origin],
                AllowedMethods: ['GET', 'PUT', 'POST'],
                AllowedHeaders: ['content-type', 'x-amz-*'],
                ExposeHeaders: ['ETag'],
                MaxAgeSeconds: 60,
              },
            ],
          },
        }),
      );
    } finally {
      s3.destroy();
    }
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu'] });
  });

  after(async () => {
    await browser?.close();
    await storage?.stop();
    if (allowed) await closeServer(allowed.server);
    if (refused) await closeServer(refused.server);
    root.cleanup();
  });

  test('a page from an allowed origin uploads, downloads and reads the exposed ETag', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(allowed.origin);
      const result = await page.evaluate(pageScript, endpoint);
      assert.equal(result.error, undefined);
      assert.equal(result.putStatus, 200);
      assert.equal(result.etag, md5('hello from the browser'));
      assert.equal(result.body, 'hello from the browser');
      assert.equal(result.postStatus, 204);
      assert.equal(result.postEtag, md5('sent as a form'));
      assert.equal(result.formBody, 'sent as a form');
    } finally {
      await page.close();
    }
  });

  test('a page from a refused origin cannot fetch at all', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(refused.origin);
      const result = await page.evaluate(pageScript, endpoint);
      assert.match(result.error ?? '', /TypeError|Failed to fetch/);
      assert.equal(result.putStatus, undefined);
    } finally {
      await page.close();
    }
  });
});
