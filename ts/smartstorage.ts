/**
 * `SmartStorage`: starts the Rust `smartstorage` binary in management mode and
 * drives it over the IPC channel. One instance = one binary process = one S3
 * endpoint.
 */
import { EventEmitter } from 'node:events';
import { resolveBinary, packageManifest } from './binary.js';
import { resolveConfig, type ICredential, type IResolvedSmartStorageConfig, type ISmartStorageConfig } from './config.js';
import { NotRunningError, SmartStorageError } from './errors.js';
import { IpcChannel, type IExitInfo } from './ipc.js';
import { parseLogLine, type ILogEntry } from './logs.js';
import type { IAddCredentialResult, IClusterStatus, IStartResult, IStatus, MethodName, MethodParams, MethodResult } from './protocol.js';

/** Process-level options (not part of the server config). */
export interface ISmartStorageOptions {
  /** Path of the binary; overrides `SMARTSTORAGE_BINARY` and the bundled one. Must exist. */
  binaryPath?: string;
  /** Budget for spawn → ready → S3 endpoint bound. Default 10 000 ms. */
  startTimeoutMs?: number;
  /** Budget for each management request (createBucket, …). Default 30 000 ms. */
  requestTimeoutMs?: number;
  /** Graceful-stop budget; after it the binary is killed. Default 10 000 ms. */
  stopTimeoutMs?: number;
  /** Extra environment variables for the binary (e.g. `RUST_LOG`). */
  env?: Record<string, string>;
}

/** Connection details for any S3 client. */
export interface IStorageDescriptor {
  /** Host name only (no scheme, no port): `localhost` unless overridden. */
  endpoint: string;
  port: number;
  accessKey: string;
  accessSecret: string;
  useSsl: boolean;
  region: string;
}

export interface IDescriptorOptions {
  /** Host clients should use instead of `localhost` (e.g. a container's host name). */
  host?: string;
}

/** Shaped like the AWS SDK v3 `S3ClientConfig`; pass it straight to `new S3Client(...)`. */
export interface IS3ClientConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  forcePathStyle: true;
}

/** A bucket as listed by {@link SmartStorage.listBuckets}. */
export interface IBucket {
  name: string;
  creationDate: Date;
}

type Events = {
  /** A log entry from the binary (not emitted when `server.silent` is set). */
  log: [entry: ILogEntry];
  /** The binary exited (after stop(), or unexpectedly). */
  exit: [info: IExitInfo];
};

/**
 * What the descriptor hands out when no credential is left (possible only with
 * auth off, where the server accepts any signature): the default credential.
 */
const FALLBACK_CREDENTIAL: ICredential = { accessKeyId: 'STORAGE', secretAccessKey: 'STORAGE' };

const DEFAULT_START_TIMEOUT_MS = 10_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_STOP_TIMEOUT_MS = 10_000;
/** After SIGKILL, how long to wait for the OS to report the exit. */
const KILL_WAIT_MS = 2_000;

export class SmartStorage extends EventEmitter<Events> {
  /**
   * The validated config with every default filled in, as constructed: credentials
   * added or removed at runtime show in {@link listCredentials}, not here.
   */
  readonly config: IResolvedSmartStorageConfig;
  private readonly options: ISmartStorageOptions;
  private channel: IpcChannel | undefined;
  private endpoint: IStartResult | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  /**
   * The credential set as this object last saw the binary accept it, in the
   * binary's order (replacing a secret keeps the place). The binary never
   * sends a secret back, so this is where the descriptor finds the secret of
   * the first access key; it is also what a later start() begins with.
   */
  private credentials: ICredential[];

  /**
   * Validates `config` (throws {@link InvalidConfigError} naming each bad field)
   * without starting anything.
   */
  constructor(config?: ISmartStorageConfig, options: ISmartStorageOptions = {}) {
    super();
    this.config = resolveConfig(config);
    this.options = options;
    this.credentials = this.config.auth.credentials.map((c) => ({ ...c }));
  }

  /** `new SmartStorage(config, options)` + `start()`. */
  static async createAndStart(config?: ISmartStorageConfig, options?: ISmartStorageOptions): Promise<SmartStorage> {
    const storage = new SmartStorage(config, options);
    await storage.start();
    return storage;
  }

  /** True while the S3 endpoint is up. */
  get running(): boolean {
    return this.endpoint !== undefined && this.channel !== undefined && !this.channel.exited;
  }

  /** The bound port while running (the real one for `server.port: 0`); the configured port otherwise. */
  get port(): number {
    return this.endpoint?.port ?? this.config.server.port;
  }

  /** Process id of the binary while it runs. */
  get pid(): number | undefined {
    return this.channel?.exited ? undefined : this.channel?.pid;
  }

  /** Spawns the binary and starts the S3 endpoint. Resolves once it accepts connections. */
  async start(): Promise<void> {
    if (this.stopping) await this.stopping;
    if (this.running) return;
    this.starting ??= this.doStart().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const binaryPath = resolveBinary(this.options.binaryPath);
    const deadline = Date.now() + (this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
    const { channel, ready } = await IpcChannel.open({
      binaryPath,
      readyTimeoutMs: deadline - Date.now(),
      ...(this.options.env ? { env: this.options.env } : {}),
    });
    const wantsLogs = !this.config.server.silent;
    channel.on('stderr', (line) => {
      if (wantsLogs && this.listenerCount('log') > 0) this.emit('log', parseLogLine(line));
    });
    channel.on('warning', (message) => this.emitLocalLog('warn', message));
    channel.on('exit', (info) => {
      if (this.channel === channel) this.endpoint = undefined;
      this.emit('exit', info);
    });
    const expectedVersion = packageManifest().version;
    if (expectedVersion && ready.version !== expectedVersion) {
      this.emitLocalLog('warn', `binary ${binaryPath} is version ${ready.version}, this package is ${expectedVersion}; rebuild with \`npm run build:rust\` if that is unexpected`);
    }
    try {
      const config = { ...this.config, auth: { ...this.config.auth, credentials: this.credentials.map((c) => ({ ...c })) } };
      this.endpoint = await channel.request('start', config, Math.max(1, deadline - Date.now()));
      this.channel = channel;
    } catch (error) {
      channel.endInput();
      if (!(await channel.waitForExit(1_000))) channel.kill();
      await channel.waitForExit();
      throw error;
    }
  }

  /**
   * Stops the S3 endpoint (in-flight requests finish) and the binary. Safe to call
   * twice or before start(); after `stopTimeoutMs` the binary is killed.
   */
  async stop(): Promise<void> {
    if (this.starting) await this.starting.catch(() => {});
    if (this.stopping) return this.stopping;
    const channel = this.channel;
    if (!channel) return;
    this.stopping = (async () => {
      const budget = this.options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
      const deadline = Date.now() + budget;
      if (!channel.exited) {
        try {
          await channel.request('stop', undefined, budget);
        } catch {
          // Dead or stuck: the exit wait below decides.
        }
        channel.endInput();
        if (!(await channel.waitForExit(Math.max(0, deadline - Date.now())))) {
          this.emitLocalLog('warn', `binary did not exit within ${budget} ms of stop; killing it`);
          channel.kill('SIGKILL');
          await channel.waitForExit(KILL_WAIT_MS);
        }
      }
    })().finally(() => {
      if (this.channel === channel) {
        this.channel = undefined;
        this.endpoint = undefined;
      }
      this.stopping = undefined;
    });
    return this.stopping;
  }

  /** `await using storage = await SmartStorage.createAndStart()` stops it at scope exit. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** Creates a bucket (S3 naming rules apply). */
  async createBucket(name: string): Promise<{ name: string }> {
    return this.call('createBucket', { name });
  }

  /** Deletes an empty bucket. */
  async deleteBucket(name: string): Promise<void> {
    await this.call('deleteBucket', { name });
  }

  /** All buckets, sorted by name. */
  async listBuckets(): Promise<IBucket[]> {
    const buckets = await this.call('listBuckets', undefined);
    return buckets.map((b) => ({ name: b.name, creationDate: new Date(b.creationDate) }));
  }

  /** Runtime status of the binary and its endpoint. */
  async status(): Promise<IStatus> {
    return this.call('status', undefined);
  }

  /** Cluster view; in standalone mode (the only mode so far) a single local node. */
  async clusterStatus(): Promise<IClusterStatus> {
    return this.call('clusterStatus', undefined);
  }

  /**
   * Adds a credential to the running server, or gives an existing access key a
   * new secret (it keeps its place in the list). Requests signed with it are
   * accepted from the next one on; with auth on it is also an owner of its own
   * buckets. Rejected with code `InvalidCredential` unless the access key id is
   * 1-128 visible ASCII characters other than `/ , = ;` and the secret 1-256
   * visible ASCII characters. The change lasts for this object: a later
   * `stop()` + `start()` begins with the credential set as it was.
   */
  async addCredential(credential: ICredential): Promise<IAddCredentialResult> {
    const { accessKeyId, secretAccessKey } = credential;
    const result = await this.call('addCredential', { accessKeyId, secretAccessKey });
    const known = this.credentials.find((c) => c.accessKeyId === accessKeyId);
    if (known) known.secretAccessKey = secretAccessKey;
    else this.credentials.push({ accessKeyId, secretAccessKey });
    return result;
  }

  /**
   * Removes a credential: requests signed with it fail with InvalidAccessKeyId
   * from the next one on (buckets it owns keep their owner). Rejected with code
   * `NoSuchCredential` for an unknown access key, and with `LastCredential` for
   * the last one while auth is enabled (add its replacement first). When the
   * first credential goes, the next one becomes the descriptor's.
   */
  async removeCredential(accessKeyId: string): Promise<void> {
    await this.call('removeCredential', { accessKeyId });
    this.credentials = this.credentials.filter((c) => c.accessKeyId !== accessKeyId);
  }

  /** The access key ids the server accepts, the descriptor's first. Secrets are never listed. */
  async listCredentials(): Promise<string[]> {
    const list = await this.call('listCredentials', undefined);
    return list.map((c) => c.accessKeyId);
  }

  /**
   * Connection details for any S3 client, with the first live credential (the
   * binary is asked which one that is; its secret is the one this object gave
   * the binary, through the config or {@link addCredential}).
   */
  async getStorageDescriptor(options: IDescriptorOptions = {}): Promise<IStorageDescriptor> {
    const port = this.requireEndpoint('get a storage descriptor').port;
    const credential = await this.firstCredential();
    return {
      endpoint: options.host ?? 'localhost',
      port,
      accessKey: credential.accessKeyId,
      accessSecret: credential.secretAccessKey,
      useSsl: false,
      region: this.config.server.region,
    };
  }

  /** A ready `S3ClientConfig` for the AWS SDK v3: `new S3Client(await storage.getS3ClientConfig())`. */
  async getS3ClientConfig(options: IDescriptorOptions = {}): Promise<IS3ClientConfig> {
    const d = await this.getStorageDescriptor(options);
    const host = d.endpoint.includes(':') && !d.endpoint.startsWith('[') ? `[${d.endpoint}]` : d.endpoint;
    return {
      endpoint: `${d.useSsl ? 'https' : 'http'}://${host}:${d.port}`,
      region: d.region,
      credentials: { accessKeyId: d.accessKey, secretAccessKey: d.accessSecret },
      forcePathStyle: true,
    };
  }

  /** The first credential the binary holds, with the secret this object remembers for it. */
  private async firstCredential(): Promise<ICredential> {
    const [first] = await this.call('listCredentials', undefined);
    if (!first) return FALLBACK_CREDENTIAL;
    const credential = this.credentials.find((c) => c.accessKeyId === first.accessKeyId);
    if (!credential) {
      throw new SmartStorageError(
        'UnknownSecret',
        `The server's first credential is ${JSON.stringify(first.accessKeyId)}, but this SmartStorage never saw its secret ` +
          '(was it added while a request timed out?). Add it again with addCredential().',
      );
    }
    return { ...credential };
  }

  private requireEndpoint(operation: string): IStartResult {
    if (!this.running || !this.endpoint) throw new NotRunningError(operation);
    return this.endpoint;
  }

  private async call<M extends MethodName>(method: M, params: MethodParams<M> | undefined): Promise<MethodResult<M>> {
    if (this.starting) await this.starting;
    const channel = this.channel;
    if (!channel || !this.running) throw new NotRunningError(`call ${method}()`);
    return channel.request(method, params, this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
  }

  private emitLocalLog(level: ILogEntry['level'], message: string): void {
    if (this.config.server.silent || this.listenerCount('log') === 0) return;
    this.emit('log', { level, message, timestamp: new Date().toISOString(), target: 'smartstorage (node)', fields: {}, raw: message });
  }
}
