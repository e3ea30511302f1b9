/**
 * The management IPC protocol (see docs/protocol.md): newline-delimited JSON on
 * the binary's stdin (requests) and stdout (responses and events). Everything
 * the binary sends is validated with the zod schemas below.
 */
import { z } from 'zod';
import { smartStorageConfigSchema } from './config.js';

/**
 * Bumped on any incompatible change; the binary reports its own in the `ready` event.
 * 2: the credential methods (`addCredential`, `removeCredential`, `listCredentials`).
 */
export const PROTOCOL_VERSION = 2;

// ---- events (binary → TS, unsolicited) ----

export const readyEventSchema = z.strictObject({
  event: z.literal('ready'),
  data: z.strictObject({
    /** The binary's crate version. */
    version: z.string(),
    /** Its protocol version; must equal {@link PROTOCOL_VERSION}. */
    protocol: z.number().int(),
  }),
});

export const eventSchema = z.discriminatedUnion('event', [readyEventSchema]);
export type IEvent = z.infer<typeof eventSchema>;

// ---- responses (binary → TS, one per request) ----

export const errorBodySchema = z.strictObject({
  /** Stable code, such as `UnknownMethod`, `InvalidRequest`, `NoSuchBucket`. */
  code: z.string(),
  message: z.string(),
});

const requestId = z.number().int().nonnegative().nullable();

export const okResponseSchema = z.strictObject({ id: requestId, ok: z.literal(true), result: z.unknown() });
export const errorResponseSchema = z.strictObject({ id: requestId, ok: z.literal(false), error: errorBodySchema });
export const responseSchema = z.discriminatedUnion('ok', [okResponseSchema, errorResponseSchema]);
export type IResponse = z.infer<typeof responseSchema>;

/** Any line the binary may write to stdout. */
export const outgoingMessageSchema = z.union([eventSchema, responseSchema]);

// ---- per-method params and results ----

export const bucketNameParamsSchema = z.strictObject({ name: z.string() });
export const noParamsSchema = z.strictObject({}).optional();

export const startResultSchema = z.strictObject({
  /** Host name clients should use (`localhost` for loopback/wildcard binds). */
  host: z.string(),
  /** The bound port (the real one when port 0 was asked for). */
  port: z.number().int().min(1).max(65535),
  /** The configured bind address. */
  address: z.string(),
});

export const stopResultSchema = z.strictObject({ wasRunning: z.boolean() });
export const bucketResultSchema = z.strictObject({ name: z.string() });

export const bucketEntrySchema = z.strictObject({
  name: z.string(),
  /** ISO 8601, UTC. */
  creationDate: z.iso.datetime({ offset: true }),
});
export const listBucketsResultSchema = z.array(bucketEntrySchema);

export const statusResultSchema = z.strictObject({
  running: z.boolean(),
  version: z.string(),
  pid: z.number().int(),
  host: z.string().nullable(),
  port: z.number().int().nullable(),
  address: z.string().nullable(),
  /** Absolute storage directory. */
  directory: z.string().nullable(),
  /** Milliseconds since the S3 endpoint started. */
  uptimeMs: z.number().int().nullable(),
  bucketCount: z.number().int().nullable(),
});

export const clusterNodeSchema = z.strictObject({
  nodeId: z.string(),
  /** `host:port` of the node's S3 endpoint, null while stopped. */
  endpoint: z.string().nullable(),
  status: z.enum(['online', 'offline', 'stopped']),
  local: z.boolean(),
  drives: z.array(z.strictObject({ path: z.string(), status: z.enum(['online', 'offline']) })),
});

export const clusterStatusResultSchema = z.strictObject({
  /** `standalone` until cluster mode exists. */
  mode: z.enum(['standalone', 'cluster']),
  healthy: z.boolean(),
  nodes: z.array(clusterNodeSchema),
  /** Erasure-coding layout; null in standalone mode (objects are stored whole). */
  erasure: z.strictObject({ dataShards: z.number().int(), parityShards: z.number().int() }).nullable(),
});

/** Params of `addCredential`. The binary validates them (error code `InvalidCredential`). */
export const credentialParamsSchema = z.strictObject({
  accessKeyId: z.string(),
  secretAccessKey: z.string(),
});

/** Params of `removeCredential`; also its result and one entry of `listCredentials`. */
export const accessKeyParamsSchema = z.strictObject({ accessKeyId: z.string() });

/** Result of `addCredential`. */
export const addCredentialResultSchema = z.strictObject({
  accessKeyId: z.string(),
  /** True when the access key existed and only its secret changed (it keeps its place in the list). */
  replaced: z.boolean(),
});

/** Access key ids only (the protocol never carries a secret back), the first being the default credential. */
export const listCredentialsResultSchema = z.array(accessKeyParamsSchema);

/** Every method: what it takes and what it answers. */
export const methods = {
  start: { params: smartStorageConfigSchema, result: startResultSchema },
  stop: { params: noParamsSchema, result: stopResultSchema },
  createBucket: { params: bucketNameParamsSchema, result: bucketResultSchema },
  deleteBucket: { params: bucketNameParamsSchema, result: bucketResultSchema },
  listBuckets: { params: noParamsSchema, result: listBucketsResultSchema },
  status: { params: noParamsSchema, result: statusResultSchema },
  clusterStatus: { params: noParamsSchema, result: clusterStatusResultSchema },
  addCredential: { params: credentialParamsSchema, result: addCredentialResultSchema },
  removeCredential: { params: accessKeyParamsSchema, result: accessKeyParamsSchema },
  listCredentials: { params: noParamsSchema, result: listCredentialsResultSchema },
} as const;

export type MethodName = keyof typeof methods;
export type MethodParams<M extends MethodName> = z.input<(typeof methods)[M]['params']>;
export type MethodResult<M extends MethodName> = z.output<(typeof methods)[M]['result']>;

/** A request as written to the binary's stdin. */
export const requestSchema = z.strictObject({
  id: z.number().int().nonnegative(),
  method: z.string(),
  params: z.unknown().optional(),
});
export type IRequest = z.infer<typeof requestSchema>;

/** Parses a request (e.g. a fixture) including its method-specific params. */
export function parseRequest(message: unknown): IRequest {
  const request = requestSchema.parse(message);
  const method = methods[request.method as MethodName];
  if (!method) throw new Error(`unknown method ${JSON.stringify(request.method)}`);
  method.params.parse(request.params);
  return request;
}

export type IStartResult = MethodResult<'start'>;
export type IBucketEntry = z.output<typeof bucketEntrySchema>;
export type IStatus = MethodResult<'status'>;
export type IClusterStatus = MethodResult<'clusterStatus'>;
/** What `SmartStorage.addCredential()` resolves with: the access key id and whether it replaced a secret. */
export type IAddCredentialResult = MethodResult<'addCredential'>;
