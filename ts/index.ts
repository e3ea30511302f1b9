export { SmartStorage } from './smartstorage.js';
export type {
  ISmartStorageOptions,
  IStorageDescriptor,
  IDescriptorOptions,
  IS3ClientConfig,
  IBucket,
} from './smartstorage.js';
export {
  smartStorageConfigSchema,
  resolveConfig,
  DEFAULT_MAX_OBJECT_SIZE,
  ACCESS_KEY_ID_RULE,
  SECRET_ACCESS_KEY_RULE,
  isValidAccessKeyId,
  isValidSecretAccessKey,
} from './config.js';
export type { ISmartStorageConfig, IResolvedSmartStorageConfig, ICredential } from './config.js';
export {
  SmartStorageError,
  InvalidConfigError,
  BinaryNotFoundError,
  BinaryExitedError,
  ProtocolMismatchError,
  ProtocolError,
  RequestTimeoutError,
  NotRunningError,
} from './errors.js';
export { resolveBinary, hostPlatformKey } from './binary.js';
export { PROTOCOL_VERSION } from './protocol.js';
export type { IStatus, IClusterStatus, IAddCredentialResult } from './protocol.js';
export type { IExitInfo } from './ipc.js';
export type { ILogEntry, LogLevel } from './logs.js';
