/**
 * The management channel to one `smartstorage --management` process: spawns it
 * with execa, frames newline-delimited JSON both ways, validates every incoming
 * message, matches responses to requests (with per-request timeouts) and fails
 * every pending call clearly when the process dies.
 */
import { EventEmitter } from 'node:events';
import { execa, type ResultPromise } from 'execa';
import {
  BinaryExitedError,
  ProtocolError,
  ProtocolMismatchError,
  RequestTimeoutError,
  SmartStorageError,
} from './errors.js';
import {
  PROTOCOL_VERSION,
  methods,
  outgoingMessageSchema,
  type IResponse,
  type MethodName,
  type MethodParams,
  type MethodResult,
} from './protocol.js';

/** How the process ended. */
export interface IExitInfo {
  /** Exit code, or null when killed by a signal (or never started). */
  code: number | null;
  /** The signal that killed it, if any. */
  signal: string | null;
  /** Its last stderr lines, oldest first. */
  stderrTail: string[];
}

export interface IIpcOpenOptions {
  binaryPath: string;
  /** Extra arguments after `--management`. */
  args?: string[];
  /** How long to wait for the `ready` event. */
  readyTimeoutMs: number;
  /** Extra environment for the process. */
  env?: Record<string, string>;
}

/** What `ready` told us. */
export interface IReadyInfo {
  version: string;
  protocol: number;
}

type Events = {
  /** One line the process wrote to stderr (logs, panics). */
  stderr: [line: string];
  /** Something odd but survivable on the channel (a garbage line, an unknown id). */
  warning: [message: string];
  /** The process is gone. */
  exit: [info: IExitInfo];
};

interface IPending {
  method: MethodName;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** Number of stderr lines kept for error messages. */
const STDERR_TAIL_LINES = 20;
/** A single protocol line longer than this is a bug (or not our binary): fail instead of buffering forever. */
const MAX_LINE_BYTES = 16 * 1024 * 1024;

export class IpcChannel extends EventEmitter<Events> {
  private readonly subprocess: ResultPromise<{ stdin: 'pipe'; stdout: 'pipe'; stderr: 'pipe'; buffer: false; reject: false }>;
  private readonly pending = new Map<number, IPending>();
  private readonly stderrTail: string[] = [];
  private nextId = 1;
  private stdoutRest = '';
  private stderrRest = '';
  private exitInfo: IExitInfo | undefined;
  private readonly exitPromise: Promise<IExitInfo>;
  private readyWaiter: { resolve: (info: IReadyInfo) => void; reject: (error: Error) => void } | undefined;
  private readyInfo: IReadyInfo | undefined;

  private constructor(readonly binaryPath: string, args: string[], env: Record<string, string> | undefined) {
    super();
    this.subprocess = execa(binaryPath, ['--management', ...args], {
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      cleanup: true,
      windowsHide: true,
      ...(env ? { env } : {}),
    });
    const { stdin, stdout, stderr } = this.subprocess;
    // A dead process turns writes into EPIPE; the exit path reports it.
    stdin.on('error', () => {});
    stdout.setEncoding('utf8');
    stderr.setEncoding('utf8');
    stdout.on('data', (chunk: string) => this.onStdout(chunk));
    stderr.on('data', (chunk: string) => this.onStderr(chunk));
    this.exitPromise = this.subprocess.then((result) => {
      if (this.stderrRest) this.pushStderrLine(this.stderrRest);
      this.stderrRest = '';
      const spawnFailure = result.exitCode === undefined && !result.signal ? result.originalMessage || result.message : undefined;
      if (spawnFailure) this.pushStderrLine(`(spawn failed: ${spawnFailure})`);
      const info: IExitInfo = {
        code: result.exitCode ?? null,
        signal: result.signal ?? null,
        stderrTail: [...this.stderrTail],
      };
      this.onExit(info);
      return info;
    });
  }

  /**
   * Spawns the binary and waits for its `ready` event. Rejects (and kills the
   * process) when it exits first, does not get ready in time, or speaks another
   * protocol version.
   */
  static async open(options: IIpcOpenOptions): Promise<{ channel: IpcChannel; ready: IReadyInfo }> {
    const channel = new IpcChannel(options.binaryPath, options.args ?? [], options.env);
    let timer: NodeJS.Timeout | undefined;
    try {
      const ready = await new Promise<IReadyInfo>((resolve, reject) => {
        channel.readyWaiter = { resolve, reject };
        timer = setTimeout(() => {
          reject(
            new SmartStorageError(
              'StartTimeout',
              `The smartstorage binary at ${options.binaryPath} did not report ready within ${options.readyTimeoutMs} ms.` +
                channel.describeStderr(),
            ),
          );
        }, options.readyTimeoutMs);
      });
      if (ready.protocol !== PROTOCOL_VERSION) {
        throw new ProtocolMismatchError(options.binaryPath, ready.protocol, PROTOCOL_VERSION);
      }
      return { channel, ready };
    } catch (error) {
      channel.kill();
      await channel.exitPromise;
      throw error;
    } finally {
      clearTimeout(timer);
      channel.readyWaiter = undefined;
    }
  }

  /** The process id. */
  get pid(): number | undefined {
    return this.subprocess.pid;
  }

  /** Set once the process has exited. */
  get exited(): IExitInfo | undefined {
    return this.exitInfo;
  }

  /** What `ready` reported. */
  get ready(): IReadyInfo | undefined {
    return this.readyInfo;
  }

  /** Sends one request and resolves with its validated result. */
  request<M extends MethodName>(method: M, params: MethodParams<M> | undefined, timeoutMs: number): Promise<MethodResult<M>> {
    if (this.exitInfo) {
      return Promise.reject(this.exitedError(`"${method}" was called`, this.exitInfo));
    }
    const id = this.nextId++;
    const line = JSON.stringify(params === undefined ? { id, method } : { id, method, params }) + '\n';
    return new Promise<MethodResult<M>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RequestTimeoutError(method, timeoutMs));
      }, timeoutMs);
      this.pending.set(id, { method, resolve: resolve as (value: unknown) => void, reject, timer });
      this.subprocess.stdin.write(line);
    });
  }

  /** Closes the process's stdin: in management mode that means "shut down and exit". */
  endInput(): void {
    if (!this.subprocess.stdin.writableEnded) this.subprocess.stdin.end();
  }

  /** Sends a signal (SIGKILL by default). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.exitInfo) this.subprocess.kill(signal);
  }

  /** Resolves with the exit info, or undefined if it has not exited within `timeoutMs`. */
  async waitForExit(timeoutMs?: number): Promise<IExitInfo | undefined> {
    if (timeoutMs === undefined) return this.exitPromise;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    try {
      return await Promise.race([this.exitPromise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- incoming ----

  private onStdout(chunk: string): void {
    let data = this.stdoutRest + chunk;
    let newline: number;
    while ((newline = data.indexOf('\n')) !== -1) {
      const line = data.slice(0, newline);
      data = data.slice(newline + 1);
      if (line.trim() !== '') this.onLine(line);
    }
    if (data.length > MAX_LINE_BYTES) {
      this.emit('warning', `discarded ${data.length} bytes of stdout without a newline: not a protocol line`);
      data = '';
    }
    this.stdoutRest = data;
  }

  private onLine(line: string): void {
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      this.emit('warning', `ignored a stdout line that is not JSON: ${truncate(line)}`);
      return;
    }
    const parsed = outgoingMessageSchema.safeParse(json);
    if (!parsed.success) {
      this.emit('warning', `ignored a stdout line that is not a protocol message (${parsed.error.issues[0]?.message}): ${truncate(line)}`);
      return;
    }
    const message = parsed.data;
    if ('event' in message) {
      if (message.event === 'ready') {
        if (this.readyInfo) {
          this.emit('warning', 'ignored a second "ready" event');
          return;
        }
        this.readyInfo = message.data;
        this.readyWaiter?.resolve(message.data);
      }
      return;
    }
    this.onResponse(message);
  }

  private onResponse(response: IResponse): void {
    if (response.id === null) {
      const detail = response.ok ? '' : `: ${response.error.code}: ${response.error.message}`;
      this.emit('warning', `the binary could not read one of our requests${detail}`);
      return;
    }
    const pending = this.pending.get(response.id);
    if (!pending) {
      this.emit('warning', `ignored a response to unknown or timed-out request id ${response.id}`);
      return;
    }
    this.pending.delete(response.id);
    clearTimeout(pending.timer);
    if (!response.ok) {
      pending.reject(new SmartStorageError(response.error.code, response.error.message));
      return;
    }
    const result = methods[pending.method].result.safeParse(response.result);
    if (result.success) {
      pending.resolve(result.data);
    } else {
      pending.reject(
        new ProtocolError(
          `The binary's answer to "${pending.method}" does not match protocol ${PROTOCOL_VERSION}: ` +
            `${result.error.issues.map((i) => `${i.path.join('.') || '(result)'}: ${i.message}`).join('; ')}. ` +
            'Is the binary out of date? Rebuild it with `npm run build:rust`.',
        ),
      );
    }
  }

  private onStderr(chunk: string): void {
    let data = this.stderrRest + chunk;
    let newline: number;
    while ((newline = data.indexOf('\n')) !== -1) {
      this.pushStderrLine(data.slice(0, newline));
      data = data.slice(newline + 1);
    }
    if (data.length > MAX_LINE_BYTES) data = '';
    this.stderrRest = data;
  }

  private pushStderrLine(line: string): void {
    const clean = line.replace(/\r$/, '');
    if (clean === '') return;
    this.stderrTail.push(clean);
    if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
    this.emit('stderr', clean);
  }

  private onExit(info: IExitInfo): void {
    this.exitInfo = info;
    if (this.stdoutRest.trim() !== '') this.onLine(this.stdoutRest);
    this.stdoutRest = '';
    this.readyWaiter?.reject(this.exitedError('before it reported ready', info));
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      this.pending.delete(id);
      pending.reject(this.exitedError(`while "${pending.method}" was pending`, info));
    }
    this.emit('exit', info);
  }

  private exitedError(when: string, info: IExitInfo): BinaryExitedError {
    const how = info.signal ? `was killed by ${info.signal}` : info.code === null ? 'could not be started' : `exited with code ${info.code}`;
    return new BinaryExitedError(
      `The smartstorage binary (${this.binaryPath}, pid ${this.pid ?? 'none'}) ${how} ${when}.${this.describeStderr(info.stderrTail)}`,
      info.code,
      info.signal,
      info.stderrTail,
    );
  }

  private describeStderr(tail: string[] = this.stderrTail): string {
    return tail.length === 0 ? ' It wrote nothing to stderr.' : `\nLast stderr lines:\n  ${tail.join('\n  ')}`;
  }
}

function truncate(line: string): string {
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}
