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
} from './config.js';
export type { ISmartStorageConfig, IResolvedSmartStorageConfig } from './config.js';
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
export type { IStatus, IClusterStatus } from './protocol.js';
export type { IExitInfo } from './ipc.js';
export type { ILogEntry, LogLevel } from './logs.js';
