// Public API of the configuration module.

export type { ConfigError, ConfigResult } from './errors.ts';
export { formatErrors } from './errors.ts';
export { parseDuration, formatDuration } from './duration.ts';
export { parseConfig, loadConfigFile, DEFAULT_CONFIG_PATH } from './load.ts';
export { resolveLocalNode, localAddresses, localMacs, readNodeFile, DEFAULT_NODE_FILE, type IdentityOpts, type NodeFile } from './identity.ts';
export { PROFILES, DEFAULT_PROFILE } from './profiles.ts';
export { configDigest } from './digest.ts';
export type * from './types.ts';
