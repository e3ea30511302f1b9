/**
 * Turns the binary's stderr lines into structured `log` entries. Under
 * SmartStorage the binary logs JSON (tracing-subscriber's format); anything
 * else on stderr (a panic message, for instance) becomes an `error` entry.
 */

export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** One log entry, as emitted by the `log` event. */
export interface ILogEntry {
  level: LogLevel;
  message: string;
  /** ISO 8601 time the binary logged it (or when the line arrived, for non-JSON lines). */
  timestamp: string;
  /** Rust module that logged it, such as `smartstorage_s3::server`. */
  target?: string;
  /** Structured fields other than the message (request id, bucket, error, …). */
  fields: Record<string, unknown>;
  /** The stderr line as received. */
  raw: string;
}

const LEVELS: Record<string, LogLevel> = { ERROR: 'error', WARN: 'warn', INFO: 'info', DEBUG: 'debug', TRACE: 'trace' };

/** Parses one stderr line. */
export function parseLogLine(line: string): ILogEntry {
  if (line.startsWith('{')) {
    try {
      const json = JSON.parse(line) as Record<string, unknown>;
      const level = typeof json.level === 'string' ? LEVELS[json.level.toUpperCase()] : undefined;
      if (level) {
        const { message, ...fields } = (typeof json.fields === 'object' && json.fields !== null ? json.fields : {}) as Record<string, unknown>;
        const entry: ILogEntry = {
          level,
          message: typeof message === 'string' ? message : message === undefined ? '' : JSON.stringify(message),
          timestamp: typeof json.timestamp === 'string' ? json.timestamp : new Date().toISOString(),
          fields,
          raw: line,
        };
        if (typeof json.target === 'string') entry.target = json.target;
        if (json.span !== undefined) entry.fields.span = json.span;
        return entry;
      }
    } catch {
      // Not JSON after all: fall through.
    }
  }
  return { level: 'error', message: line, timestamp: new Date().toISOString(), fields: {}, raw: line };
}
