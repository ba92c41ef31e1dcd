// Read-only HTTP endpoint: /status (JSON), /healthz (liveness, probed through the VIP to
// see which node answers) and /metrics (Prometheus). It must stay cheap and must not be a
// way to starve the daemon: everything is served from in-memory snapshots, bodies are
// refused, and slow or idle clients are cut off after a few seconds.

import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import { formatMetrics, METRICS_CONTENT_TYPE } from './metrics.ts';
import type { CoreStatus } from '../core/types.ts';
import type { DaemonFencingStatus, DaemonStatus, DaemonStatusInput, MetricsSnapshot, SafetyInfo } from './status-types.ts';
import { createSystemInfoCache, type SystemInfoCache } from './system-info.ts';
import type { EventFeed } from './event-types.ts';
import { registerEventRoutes } from './status-events.ts';
import { registerStatusPage } from './status-page.ts';

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

  registerStatusPage(app); // GET /: the HTML status page (status-page.ts)
  if (opts.events) registerEventRoutes(app, opts.events);

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
    limitIdleSockets(app.server, 32);
    // Hard ceiling on sockets; the daemon has better uses for its descriptors.
    app.server.maxConnections = 256;
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

/**
 * One host holding many connections open without sending a request must not lock everyone
 * else out (docs/robustness.md). Sockets that have not sent a request yet are kept in arrival
 * order; past `max`, the oldest such socket is closed to make room. A real client sends its
 * request right after connecting, so it is served; an idle hog only ever evicts itself.
 */
function limitIdleSockets(server: import('node:http').Server, max: number): void {
  const idle = new Set<import('node:net').Socket>();
  server.on('connection', (sock) => {
    idle.add(sock);
    sock.once('close', () => idle.delete(sock));
    if (idle.size > max) {
      const oldest = idle.values().next().value as import('node:net').Socket;
      idle.delete(oldest);
      oldest.destroy();
    }
  });
  server.on('request', (req) => idle.delete(req.socket));
}

/** Builds the daemon's /status payload from the core snapshot plus fixed facts. */
export function toDaemonStatus(
  core: CoreStatus,
  meta: { cluster: string; version: string; profile: string; safety: SafetyInfo; configPending?: string; fencing?: DaemonFencingStatus; led?: string | null; fileDiffers?: boolean },
): DaemonStatusInput {
  return {
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
