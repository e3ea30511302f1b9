/**
 * Every error SmartStorage throws is a {@link SmartStorageError} with a stable
 * `code`; subclasses carry the details a caller may act on.
 */

/** Base class: `code` is stable and machine-readable; `message` says what to do. */
export class SmartStorageError extends Error {
  override name = 'SmartStorageError';
  constructor(
    /** Stable error code: one of the binary's error codes (`NoSuchBucket`, `InvalidBucketName`, …) or a client-side one below. */
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The config failed validation; nothing was started. */
export class InvalidConfigError extends SmartStorageError {
  override name = 'InvalidConfigError';
  constructor(readonly problems: string[]) {
    super('InvalidConfig', `Invalid SmartStorage config:\n  - ${problems.join('\n  - ')}`);
  }
}

/** No usable binary was found; `tried` lists every candidate path in order. */
export class BinaryNotFoundError extends SmartStorageError {
  override name = 'BinaryNotFoundError';
  constructor(
    message: string,
    readonly tried: string[],
    readonly platformKey: string,
  ) {
    super('BinaryNotFound', message);
  }
}

/** The binary speaks a different IPC protocol version than this package. */
export class ProtocolMismatchError extends SmartStorageError {
  override name = 'ProtocolMismatchError';
  constructor(
    readonly binaryPath: string,
    readonly binaryProtocol: number,
    readonly expectedProtocol: number,
  ) {
    super(
      'ProtocolMismatch',
      `The smartstorage binary at ${binaryPath} speaks IPC protocol ${binaryProtocol}, but this package expects ` +
        `protocol ${expectedProtocol}. Rebuild the binary (in a source checkout: \`npm run build:rust\`), ` +
        `reinstall smartstorage, or point SMARTSTORAGE_BINARY at a matching binary.`,
    );
  }
}

/** The binary exited (or could not be spawned) while something was waiting on it. */
export class BinaryExitedError extends SmartStorageError {
  override name = 'BinaryExitedError';
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly signal: string | null,
    readonly stderrTail: string[],
  ) {
    super('BinaryExited', message);
  }
}

/** A request got no answer in time. */
export class RequestTimeoutError extends SmartStorageError {
  override name = 'RequestTimeoutError';
  constructor(method: string, timeoutMs: number) {
    super('RequestTimeout', `The smartstorage binary did not answer "${method}" within ${timeoutMs} ms.`);
  }
}

/** The binary sent something that is not a valid protocol message for the request. */
export class ProtocolError extends SmartStorageError {
  override name = 'ProtocolError';
  constructor(message: string) {
    super('ProtocolError', message);
  }
}

/** An operation that needs a running server was called before `start()` or after `stop()`. */
export class NotRunningError extends SmartStorageError {
  override name = 'NotRunningError';
  constructor(operation: string) {
    super('NotRunning', `Cannot ${operation}: this SmartStorage is not running. Call start() first (or use SmartStorage.createAndStart()).`);
  }
}
