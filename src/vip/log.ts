// Logging seam shared by the VIP adapter files.

/** The subset of a pino logger the VIP adapter uses (pino's own loggers fit). */
export interface VipLogger {
  debug?(obj: object, msg: string): void;
  info?(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const silentLogger: VipLogger = { warn() {}, error() {} };
