/**
 * The SmartStorage configuration: one zod schema, shared in shape with the Rust
 * binary's `config.rs` (same camelCase JSON, same defaults, unknown fields
 * rejected on both sides). `docs/fixtures/config.*.json` are parsed by both test
 * suites so the two cannot drift.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { InvalidConfigError } from './errors.js';

/** 5 GiB: S3's largest single PUT. */
export const DEFAULT_MAX_OBJECT_SIZE = 5 * 1024 * 1024 * 1024;

const HTTP_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS'] as const;
const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;

const port = (what: string) =>
  z.number({ error: `expected ${what}: an integer from 0 to 65535` })
    .int({ error: `expected ${what}: an integer from 0 to 65535` })
    .min(0, { error: `expected ${what}: an integer from 0 to 65535` })
    .max(65535, { error: `expected ${what}: an integer from 0 to 65535` });

const positiveInt = (what: string) =>
  z.number({ error: `expected ${what}: a positive integer` })
    .int({ error: `expected ${what}: a positive integer` })
    .min(1, { error: `expected ${what}: a positive integer` })
    .max(Number.MAX_SAFE_INTEGER, { error: `expected ${what}: a positive integer` });

const nonNegativeInt = (what: string) =>
  z.number({ error: `expected ${what}: an integer of 0 or more` })
    .int({ error: `expected ${what}: an integer of 0 or more` })
    .min(0, { error: `expected ${what}: an integer of 0 or more` })
    .max(Number.MAX_SAFE_INTEGER, { error: `expected ${what}: an integer of 0 or more` });

const bool = () => z.boolean({ error: 'expected true or false' });

const nonEmptyString = (what: string) =>
  z.string({ error: `expected ${what}: a non-empty string` }).min(1, { error: `expected ${what}: a non-empty string` });

const stringList = (what: string) => z.array(nonEmptyString(what), { error: `expected a list of ${what}s` });

export const serverSchema = z
  .strictObject({
    /** TCP port of the S3 endpoint; 0 picks a free ephemeral port (reported back). */
    port: port('a TCP port (0 picks a free one)').default(3000),
    /** Address to bind: an IPv4/IPv6 literal or `localhost`. */
    address: z
      .string({ error: 'expected an IP address or "localhost"' })
      .refine((a) => a === 'localhost' || isIP(a.replace(/^\[(.*)\]$/, '$1')) !== 0, {
        error: 'expected an IP address (such as "127.0.0.1", "0.0.0.0" or "::1") or "localhost"',
      })
      .default('0.0.0.0'),
    /** Suppresses `log` events (TypeScript) and the "listening" line (standalone binary). */
    silent: bool().default(false),
    /** Region reported by GetBucketLocation and used in signatures. */
    region: z
      .string({ error: 'expected a region name such as "us-east-1"' })
      .regex(/^[a-z0-9][a-z0-9-]*$/, { error: 'expected a region name of lowercase letters, digits and hyphens, such as "us-east-1"' })
      .default('us-east-1'),
    /** Base domain for virtual-hosted-style bucket addresses (`bucket.<domain>`). */
    domain: nonEmptyString('a domain name such as "localhost"').default('localhost'),
  })
  .prefault({});

export const storageSchema = z
  .strictObject({
    /** Directory holding buckets and objects (created if missing). */
    directory: nonEmptyString('a directory path').default('.nogit/bucketsDir'),
    /** Wipe the directory at start. */
    cleanSlate: bool().default(false),
    /** fsync every write (crash durability); false keeps writes atomic but not durable. */
    fsync: bool().default(true),
  })
  .prefault({});

/** What a valid access key id looks like: the binary's rule (`validate_credential`), which keeps it usable in a SigV4 credential scope. */
export const ACCESS_KEY_ID_RULE = `1-128 visible ASCII characters other than '/', ',', '=' and ';', such as "AKIAIOSFODNN7EXAMPLE"`;
/** What a valid secret access key looks like: the binary's rule (`validate_credential`). */
export const SECRET_ACCESS_KEY_RULE = '1-256 visible ASCII characters (no spaces, no control or non-ASCII characters)';

/** Whether `id` is a usable access key id ({@link ACCESS_KEY_ID_RULE}). */
export function isValidAccessKeyId(id: string): boolean {
  return /^[\x21-\x7e]{1,128}$/.test(id) && !/[/,=;]/.test(id);
}

/** Whether `secret` is a usable secret access key ({@link SECRET_ACCESS_KEY_RULE}). */
export function isValidSecretAccessKey(secret: string): boolean {
  return /^[\x21-\x7e]{1,256}$/.test(secret);
}

/**
 * Says what is wrong with a secret without revealing it, e.g. `a secret with a
 * space at character 7 (value hidden)`: the binary's wording (`describe_secret`).
 */
export function describeSecret(secret: string): string {
  const chars = [...secret];
  if (chars.length === 0) return 'an empty secret';
  const bytes = Buffer.byteLength(secret, 'utf8');
  if (bytes > 256) return `a secret of ${bytes} bytes (value hidden)`;
  const at = chars.findIndex((c) => !/^[\x21-\x7e]$/.test(c));
  if (at === -1) return `a secret of ${chars.length} characters (value hidden)`;
  const c = chars[at]!;
  const code = c.codePointAt(0)!;
  const what =
    c === ' ' ? 'a space'
    : c === '\t' ? 'a tab'
    : code < 0x20 || code === 0x7f ? `control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`
    : 'a non-ASCII character';
  return `a secret with ${what} at character ${at + 1} (value hidden)`;
}

/** One access key and its secret, checked with the binary's rules. */
export const credentialSchema = z.strictObject(
  {
    accessKeyId: z
      .string({ error: `expected an access key id: ${ACCESS_KEY_ID_RULE}` })
      .refine(isValidAccessKeyId, { error: `expected ${ACCESS_KEY_ID_RULE}` }),
    secretAccessKey: z
      .string({ error: `expected a secret access key: ${SECRET_ACCESS_KEY_RULE}` })
      .refine(isValidSecretAccessKey, { error: `expected ${SECRET_ACCESS_KEY_RULE}` }),
  },
  { error: 'expected { accessKeyId, secretAccessKey }' },
);

/** An access key and its secret (`auth.credentials` entries, `SmartStorage.addCredential()`). */
export type ICredential = z.output<typeof credentialSchema>;

export const authSchema = z
  .strictObject({
    /** When false, any signature (or none) is accepted. */
    enabled: bool().default(false),
    credentials: z
      .array(credentialSchema, { error: 'expected a list of { accessKeyId, secretAccessKey }' })
      .default(() => [{ accessKeyId: 'STORAGE', secretAccessKey: 'STORAGE' }]),
  })
  .refine((a) => !a.enabled || a.credentials.length > 0, {
    error: 'expected at least one credential when auth is enabled',
    path: ['credentials'],
  })
  .superRefine((a, ctx) => {
    a.credentials.forEach((c, i) => {
      const first = a.credentials.findIndex((other) => other.accessKeyId === c.accessKeyId);
      if (first < i) {
        ctx.addIssue({
          code: 'custom',
          message: `expected an access key id not already used by auth.credentials.${first}`,
          path: ['credentials', i, 'accessKeyId'],
        });
      }
    });
  })
  .prefault({});

export const corsSchema = z
  .strictObject({
    enabled: bool().default(false),
    allowedOrigins: stringList('origin').default(() => ['*']),
    allowedMethods: z
      .array(z.enum(HTTP_METHODS, { error: `expected one of ${HTTP_METHODS.join(', ')}` }), {
        error: `expected a list of HTTP methods (${HTTP_METHODS.join(', ')})`,
      })
      .default(() => [...HTTP_METHODS]),
    allowedHeaders: stringList('header name').default(() => ['*']),
    exposedHeaders: stringList('header name').default(() => ['ETag', 'x-amz-request-id', 'x-amz-version-id']),
    /** Preflight cache time, seconds. */
    maxAge: nonNegativeInt('a number of seconds').default(86400),
    allowCredentials: bool().default(false),
  })
  .prefault({});

export const loggingSchema = z
  .strictObject({
    level: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.map((l) => `"${l}"`).join(', ')}` }).default('info'),
    /** Format of the binary's stderr in standalone mode (under SmartStorage it is always JSON, parsed into `log` events). */
    format: z.enum(['text', 'json'], { error: 'expected "text" or "json"' }).default('text'),
    enabled: bool().default(true),
  })
  .prefault({});

export const limitsSchema = z
  .strictObject({
    /** Largest single PUT, bytes. */
    maxObjectSize: positiveInt('a size in bytes').default(DEFAULT_MAX_OBJECT_SIZE),
    /** Largest total user metadata (`x-amz-meta-*` names + values), bytes. */
    maxMetadataSize: positiveInt('a size in bytes').default(2048),
    /** How long a request body may stall before RequestTimeout, milliseconds. */
    requestTimeout: positiveInt('a duration in milliseconds').default(300_000),
  })
  .prefault({});

export const multipartSchema = z
  .strictObject({
    /** Uploads older than this are aborted by the periodic cleanup. */
    expirationDays: positiveInt('a number of days').default(7),
    /** How often the cleanup runs. */
    cleanupIntervalMinutes: positiveInt('a number of minutes').default(60),
  })
  .prefault({});

export const clusterSchema = z
  .strictObject({
    /** Cluster mode is not implemented yet: enabling it makes `start()` fail with a clear error. */
    enabled: bool().default(false),
    nodeId: nonEmptyString('a node id').optional(),
    quicPort: port('a UDP port for QUIC').default(4000),
    /** Peers to join, as `host:port`. */
    seedNodes: z
      .array(
        z.string({ error: 'expected "host:port"' }).regex(/^\S+:\d{1,5}$/, { error: 'expected "host:port", such as "10.0.0.2:4000"' }),
        { error: 'expected a list of "host:port" strings' },
      )
      .default(() => []),
    erasure: z
      .strictObject({
        dataShards: positiveInt('a shard count').default(4),
        parityShards: nonNegativeInt('a shard count').default(2),
        chunkSizeBytes: positiveInt('a size in bytes').default(4_194_304),
      })
      .refine((e) => e.dataShards + e.parityShards <= 256, {
        error: 'expected dataShards + parityShards to be at most 256',
        path: ['parityShards'],
      })
      .prefault({}),
    drives: z.strictObject({ paths: stringList('directory path').default(() => []) }).prefault({}),
    heartbeatIntervalMs: positiveInt('a duration in milliseconds').default(5000),
    heartbeatTimeoutMs: positiveInt('a duration in milliseconds').default(30_000),
  })
  .refine((c) => c.heartbeatTimeoutMs > c.heartbeatIntervalMs, {
    error: 'expected heartbeatTimeoutMs to be greater than heartbeatIntervalMs',
    path: ['heartbeatTimeoutMs'],
  });

/** The whole configuration. Every field is optional; defaults match the Rust binary's. */
export const smartStorageConfigSchema = z
  .strictObject({
    server: serverSchema,
    storage: storageSchema,
    auth: authSchema,
    cors: corsSchema,
    logging: loggingSchema,
    limits: limitsSchema,
    multipart: multipartSchema,
    cluster: clusterSchema.optional(),
  }, { error: 'expected a config object' })
  .prefault({});

/** What you may pass: every field optional. */
export type ISmartStorageConfig = z.input<typeof smartStorageConfigSchema>;
/** The config with every default filled in (what is sent to the binary). */
export type IResolvedSmartStorageConfig = z.output<typeof smartStorageConfigSchema>;

/**
 * Validates `config` and fills in defaults. Throws {@link InvalidConfigError}
 * naming each bad field, its value and what is allowed.
 */
export function resolveConfig(config: ISmartStorageConfig | undefined = {}): IResolvedSmartStorageConfig {
  const parsed = smartStorageConfigSchema.safeParse(config);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => describeIssue(config, issue));
  throw new InvalidConfigError(problems);
}

function describeIssue(root: unknown, issue: z.core.$ZodIssue): string {
  const field = issue.path.length > 0 ? issue.path.map(String).join('.') : '(config)';
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeysAt(issue.path);
    const where = issue.path.length > 0 ? `${field}.` : '';
    return `${issue.keys.map((k) => `${where}${k}`).join(', ')}: unknown field${issue.keys.length > 1 ? 's' : ''}` +
      (allowed ? `; allowed: ${allowed.join(', ')}` : '');
  }
  const value = valueAt(root, issue.path);
  if (value === undefined) return `${field}: missing, ${issue.message}`;
  // A secret is described, never shown: error messages end up in CI logs.
  if (issue.path.at(-1) === 'secretAccessKey' && typeof value === 'string') return `${field}: got ${describeSecret(value)}, ${issue.message}`;
  return `${field}: got ${formatValue(value)}, ${issue.message}`;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = root;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function formatValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  try {
    const json = JSON.stringify(value);
    return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return String(value);
  }
}

/** Field names allowed in the object at `path`, for "unknown field" messages. */
function allowedKeysAt(path: readonly PropertyKey[]): string[] | undefined {
  const shapes: Record<string, z.ZodType> = {
    '': smartStorageConfigSchema,
    server: serverSchema,
    storage: storageSchema,
    auth: authSchema,
    cors: corsSchema,
    logging: loggingSchema,
    limits: limitsSchema,
    multipart: multipartSchema,
    cluster: clusterSchema,
  };
  const key = path.filter((p) => typeof p === 'string').join('.');
  if (key === 'cluster.erasure') return ['dataShards', 'parityShards', 'chunkSizeBytes'];
  if (key === 'cluster.drives') return ['paths'];
  if (/^auth\.credentials$/.test(key)) return ['accessKeyId', 'secretAccessKey'];
  const schema = shapes[key];
  return schema ? objectKeys(schema) : undefined;
}

function objectKeys(schema: z.ZodType): string[] | undefined {
  // Unwrap prefault/default/optional/refine wrappers down to the object.
  let current: unknown = schema;
  for (let i = 0; i < 8 && current; i++) {
    const def = (current as { _zod?: { def?: { type?: string; shape?: Record<string, unknown>; innerType?: unknown; in?: unknown } } })._zod?.def;
    if (!def) return undefined;
    if (def.type === 'object' && def.shape) return Object.keys(def.shape);
    current = def.innerType ?? def.in;
  }
  return undefined;
}
