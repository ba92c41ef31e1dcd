// Read-only HTTP endpoint: /status (JSON), /healthz (liveness, probed through the VIP to
// see which node answers) and /metrics (Prometheus). It must stay cheap and must not be a
// way to starve the daemon: everything is served from in-memory snapshots, bodies are
// refused, and slow or idle clients are cut off after a few seconds.

import { formatMetrics, METRICS_CONTENT_TYPE } from './metrics.ts';
import type { CoreStatus } from '../core/types.ts';
import type { DaemonFencingStatus, DaemonStatus, DaemonStatusInput, MetricsSnapshot, SafetyInfo, StateSaveProblem } from './status-types.ts';
import { createSystemInfoCache, type SystemInfoCache } from './system-info.ts';
import type { EventFeed } from './event-types.ts';
import { createHttpServer } from './http-server.ts';
import { registerEventRoutes } from './status-events.ts';
import { registerStatusPage } from './status-page.ts';

export interface StatusServerOptions {
  host: string;
  port: number; // 0 = ephemeral (tests)
  getStatus: () => DaemonStatusInput;
  getMetrics: () => MetricsSnapshot;
  isAlive: () => boolean;
  /** Where a failing endpoint is reported (a pino logger fits); the client only sees a 500. */
  logger?: { error(obj: object, msg: string): void };
  /** Name reported by /healthz; read once from getStatus() when left out. */
  nodeName?: string;
  /** Shared host-facts cache; when left out the server runs (and stops) its own. */
  system?: SystemInfoCache;
  /** Event history: GET /events and /events/stream (status-events.ts); absent = 404. */
  events?: EventFeed;
}

export interface StatusServer {
  close(): Promise<void>;
  /** e.g. http://127.0.0.1:9000 */
  address: string;
  port: number;
}

const ROUTES = new Set(['/', '/status', '/healthz', '/metrics', '/events', '/events/stream']);
const ALLOW = 'GET, HEAD';

export async function startStatusServer(opts: StatusServerOptions): Promise<StatusServer> {
  const ownCache = !opts.system;
  const system = opts.system ?? createSystemInfoCache();
  const app = createHttpServer({
    // Before anything is read, so a POST with a body is refused without reading it.
    onRequest: (req) => {
      if (req.method === 'GET' || req.method === 'HEAD') return;
      const path = req.url.split('?', 1)[0]!;
      if (ROUTES.has(path)) return { status: 405, headers: { allow: ALLOW }, body: { ok: false, error: 'method not allowed', allow: ALLOW } };
      return { status: 404, body: { ok: false, error: 'not found' } };
    },
    // Do not echo internal error text to the network; the log has it.
    onError: (err) => opts.logger?.error({ err }, 'status endpoint failed'),
    // Hard ceiling on sockets; the daemon has better uses for its descriptors.
    maxConnections: 256,
    maxRequestsPerSocket: 100,
    maxIdleSockets: 32,
  });

  let nodeName = opts.nodeName;
  const name = (): string => (nodeName ??= opts.getStatus().node.name);

  app.get('/status', () => {
    const s: DaemonStatus = { ...opts.getStatus(), system: system.get() };
    return { headers: { 'cache-control': 'no-store' }, body: s };
  });

  app.get('/healthz', () => {
    // A daemon that cannot even say who it is, or whose liveness check throws, is not alive.
    let node: string | null = null;
    let alive = false;
    try {
      node = name();
      alive = opts.isAlive();
    } catch {
      alive = false;
    }
    return { status: alive ? 200 : 503, headers: { 'cache-control': 'no-store' }, body: { ok: alive, node } };
  });

  registerStatusPage(app); // GET /: the HTML status page (status-page.ts)
  if (opts.events) registerEventRoutes(app, opts.events);

  app.get('/metrics', () => ({ headers: { 'content-type': METRICS_CONTENT_TYPE }, body: formatMetrics(opts.getMetrics()) }));

  try {
    const address = await app.listen(opts.host, opts.port);
    return {
      address,
      port: app.port,
      close: async () => {
        if (ownCache) system.stop();
        await app.close();
      },
    };
  } catch (err) {
    if (ownCache) system.stop();
    await app.close().catch(() => {});
    throw err;
  }
}

/** Builds the daemon's /status payload from the core snapshot plus fixed facts. */
export function toDaemonStatus(
  core: CoreStatus,
  meta: {
    cluster: string;
    version: string;
    profile: string;
    safety: SafetyInfo;
    configPending?: string;
    fencing?: DaemonFencingStatus;
    led?: string | null;
    fileDiffers?: boolean;
    stateSave?: StateSaveProblem | null;
  },
): DaemonStatusInput {
  return {
    ...(meta.stateSave ? { stateSave: meta.stateSave } : {}),
    ...(core.config ? { config: { ...core.config, fileDiffers: meta.fileDiffers ?? false } } : {}),
    ...(meta.fencing ? { fencing: meta.fencing } : {}),
    ...(meta.led !== undefined ? { led: meta.led } : {}),
    configMismatch: core.configMismatch ?? [],
    ...(meta.configPending ? { configPending: meta.configPending } : {}),
    cluster: meta.cluster,
    version: meta.version,
    node: core.node,
    quorate: core.quorate,
    votes: core.votes,
    expectedVotes: core.expectedVotes,
    quorumVotes: core.quorumVotes,
    coordinator: core.coordinator,
    term: core.term,
    profile: meta.profile,
    safety: meta.safety,
    nodes: core.nodes,
    resources: core.resources,
  };
}
