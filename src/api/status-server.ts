// Read-only HTTP endpoint: /status (JSON), /healthz (liveness, probed through the VIP to
// see which node answers) and /metrics (Prometheus). It must stay cheap and must not be a
// way to starve the daemon: everything is served from in-memory snapshots, bodies are
// refused, and slow or idle clients are cut off after a few seconds.

import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import { formatMetrics, METRICS_CONTENT_TYPE } from './metrics.ts';
import type { CoreStatus } from '../core/types.ts';
import type { DaemonStatus, DaemonStatusInput, MetricsSnapshot, SafetyInfo } from './status-types.ts';
import { createSystemInfoCache, type SystemInfoCache } from './system-info.ts';

export interface StatusServerOptions {
  host: string;
  port: number; // 0 = ephemeral (tests)
  getStatus: () => DaemonStatusInput;
  getMetrics: () => MetricsSnapshot;
  isAlive: () => boolean;
  logger?: FastifyBaseLogger;
  /** Name reported by /healthz; read once from getStatus() when left out. */
  nodeName?: string;
  /** Shared host-facts cache; when left out the server runs (and stops) its own. */
  system?: SystemInfoCache;
}

export interface StatusServer {
  close(): Promise<void>;
  /** e.g. http://127.0.0.1:9000 */
  address: string;
  port: number;
}

const ROUTES = new Set(['/status', '/healthz', '/metrics']);
const ALLOW = 'GET, HEAD';

export async function startStatusServer(opts: StatusServerOptions): Promise<StatusServer> {
  const ownCache = !opts.system;
  const system = opts.system ?? createSystemInfoCache();
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    // A scrape every few seconds is not worth a log line.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024,
    connectionTimeout: 5000, // socket idle
    requestTimeout: 5000, // whole request, headers included
    keepAliveTimeout: 2000,
    maxRequestsPerSocket: 100,
    forceCloseConnections: true,
    return503OnClosing: true,
    // Node only checks header/request deadlines every connectionsCheckingInterval
    // (30 s by default), which would let a byte-a-second client hold a socket that long.
    http: { headersTimeout: 3000, requestTimeout: 5000, connectionsCheckingInterval: 1000 },
  });

  let nodeName = opts.nodeName;
  const name = (): string => (nodeName ??= opts.getStatus().node.name);

  // Before body parsing and routing, so a POST with a body is refused without reading it.
  app.addHook('onRequest', async (req, reply) => {
    if (req.method === 'GET' || req.method === 'HEAD') return;
    const path = req.url.split('?', 1)[0];
    if (ROUTES.has(path)) {
      return reply.code(405).header('allow', ALLOW).send({ ok: false, error: 'method not allowed', allow: ALLOW });
    }
    return reply.code(404).send({ ok: false, error: 'not found' });
  });

  app.get('/status', async (_req, reply) => {
    const s: DaemonStatus = { ...opts.getStatus(), system: system.get() };
    return reply.header('cache-control', 'no-store').send(s);
  });

  app.get('/healthz', async (_req, reply) => {
    // A daemon that cannot even say who it is, or whose liveness check throws, is not alive.
    let node: string | null = null;
    let alive = false;
    try {
      node = name();
      alive = opts.isAlive();
    } catch {
      alive = false;
    }
    return reply
      .code(alive ? 200 : 503)
      .header('cache-control', 'no-store')
      .send({ ok: alive, node });
  });

  app.get('/metrics', async (_req, reply) => {
    return reply.header('content-type', METRICS_CONTENT_TYPE).send(formatMetrics(opts.getMetrics()));
  });

  // Do not echo internal error text to the network; the log has it.
  app.setErrorHandler((err, req, reply) => {
    req.log.error({ err }, 'status endpoint failed');
    void reply.code(500).send({ ok: false, error: 'internal error' });
  });

  app.setNotFoundHandler((_req, reply) => {
    void reply.code(404).send({ ok: false, error: 'not found' });
  });

  try {
    const address = await app.listen({ host: opts.host, port: opts.port });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : opts.port;
    // At most this many sockets at once; the daemon has better uses for its descriptors.
    app.server.maxConnections = 64;
    return {
      address,
      port,
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
  meta: { cluster: string; version: string; profile: string; safety: SafetyInfo },
): DaemonStatusInput {
  return {
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
