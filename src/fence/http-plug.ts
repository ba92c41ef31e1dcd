// A fence device that is a smart plug (or relay box) on the LAN, switched over its local HTTP
// API. These are certified mains devices: the supported way to fence by cutting mains power
// (never a DIY relay on mains, hardware/README.md).
//
//   shelly-gen1  GET /relay/<ch>?turn=off|on -> {"ison":false,...}; status GET /relay/<ch>;
//                login: HTTP basic auth
//   shelly-gen2  GET /rpc/Switch.Set?id=<ch>&on=false|true -> {"was_on":true};
//                status GET /rpc/Switch.GetStatus?id=<ch> -> {"output":false,...};
//                login: HTTP digest auth, SHA-256 (RFC 7616), user always "admin"
//   tasmota      GET /cm?cmnd=Power<ch+1>%20Off|On -> {"POWER1":"OFF"} (or {"POWER":"OFF"} on a
//                one-relay device); status cmnd=Power<ch+1>; login: &user=..&password=..
//
// Every command is read back with a status request: a plug whose answer contradicts the
// command (still "on" after "off") throws, so a fence is never confirmed on a plug that did
// not switch. One attempt (including a digest challenge round trip) is bounded by the
// device's timeout and by the caller's signal.

import { createHash, randomBytes } from 'node:crypto';
import { formatDuration } from '../config/duration.ts';
import type { HttpPlugDeviceConfig } from '../config/types.ts';
import { FenceError, type FenceDevice, type PowerState } from './types.ts';
import { abortText, checkHost, quote } from './util.ts';

export type FetchFn = typeof fetch;

export interface HttpPlugOptions {
  /** Default: the global fetch. */
  fetch?: FetchFn;
}

/** Plug answers are a few hundred bytes; anything far bigger is not a plug's JSON. */
const MAX_BODY = 64 * 1024;

export class HttpPlugDevice implements FenceDevice {
  readonly type = 'http-plug' as const;
  readonly name: string;
  readonly hosts: readonly string[];
  private readonly base: string;
  private readonly fetch: FetchFn;

  constructor(
    readonly config: HttpPlugDeviceConfig,
    opts: HttpPlugOptions = {},
  ) {
    this.name = config.name;
    this.hosts = config.hosts;
    this.base = config.url.replace(/\/+$/, '');
    this.fetch = opts.fetch ?? fetch;
  }

  async off(node: string, signal: AbortSignal): Promise<void> {
    checkHost(this, node);
    await this.switchTo('off', signal);
  }

  async on(node: string, signal: AbortSignal): Promise<void> {
    checkHost(this, node);
    await this.switchTo('on', signal);
  }

  async status(node: string, signal: AbortSignal): Promise<PowerState> {
    checkHost(this, node);
    return this.readState(signal);
  }

  async close(): Promise<void> {
    // Nothing held open: each request is its own.
  }

  private async switchTo(want: PowerState, signal: AbortSignal): Promise<void> {
    const ch = this.config.channel;
    let answered: PowerState | undefined;
    switch (this.config.api) {
      case 'shelly-gen1': {
        const body = await this.request(`/relay/${ch}?turn=${want}`, signal);
        answered = this.gen1State(body, true);
        break;
      }
      case 'shelly-gen2':
        // Switch.Set answers {"was_on": ...}, the state before: only the read-back tells.
        await this.request(`/rpc/Switch.Set?id=${ch}&on=${want === 'on'}`, signal);
        break;
      case 'tasmota': {
        const body = await this.request(`/cm?cmnd=${encodeURIComponent(`Power${ch + 1} ${want === 'on' ? 'On' : 'Off'}`)}`, signal);
        answered = this.tasmotaState(body);
        break;
      }
    }
    if (answered !== undefined && answered !== want) throw this.contradiction(want, answered, 'answered');
    const now = await this.readState(signal);
    if (now !== want) throw this.contradiction(want, now, 'reads back as');
  }

  private async readState(signal: AbortSignal): Promise<PowerState> {
    const ch = this.config.channel;
    switch (this.config.api) {
      case 'shelly-gen1':
        return this.gen1State(await this.request(`/relay/${ch}`, signal), false)!;
      case 'shelly-gen2': {
        const body = await this.request(`/rpc/Switch.GetStatus?id=${ch}`, signal);
        const output = isObject(body) ? body.output : undefined;
        if (typeof output !== 'boolean') throw this.unexpected(body, '"output"');
        return output ? 'on' : 'off';
      }
      case 'tasmota':
        return this.tasmotaState(await this.request(`/cm?cmnd=Power${ch + 1}`, signal));
    }
  }

  private contradiction(want: PowerState, got: PowerState, how: string): FenceError {
    return new FenceError(
      `${this.name}: plug ${this.where()} ${how} ${got} after switching ${want}; it did not switch (is channel: ${this.config.channel} the right relay? a button lock or schedule on the plug?)`,
      this.name,
    );
  }

  private gen1State(body: unknown, optional: boolean): PowerState | undefined {
    const ison = isObject(body) ? body.ison : undefined;
    if (typeof ison === 'boolean') return ison ? 'on' : 'off';
    if (optional) return undefined;
    throw this.unexpected(body, '"ison"');
  }

  private tasmotaState(body: unknown): PowerState {
    const n = this.config.channel + 1;
    if (isObject(body)) {
      if (typeof body.WARNING === 'string' && /user|password/i.test(body.WARNING)) throw this.loginError();
      // A one-relay Tasmota answers POWER, a multi-relay one POWER1, POWER2, ...
      const v = body[`POWER${n}`] ?? (n === 1 ? body.POWER : undefined);
      if (typeof v === 'string') {
        const t = v.toUpperCase();
        if (t === 'ON') return 'on';
        if (t === 'OFF') return 'off';
        throw new FenceError(
          `${this.name}: plug ${this.where()} answered POWER${n} = ${quote(v)}, not ON or OFF (a changed StateText on the plug? set it back to ON/OFF)`,
          this.name,
        );
      }
      if (body.Command === 'Unknown') {
        throw new FenceError(`${this.name}: plug ${this.where()} does not know the command Power${n}: it has no relay ${n} (check channel:, 0 is the first relay)`, this.name);
      }
    }
    throw this.unexpected(body, n === 1 ? '"POWER1" or "POWER"' : `"POWER${n}"`);
  }

  private unexpected(body: unknown, field: string): FenceError {
    return new FenceError(
      `${this.name}: plug ${this.where()} answered without the ${field} field: ${quote(JSON.stringify(body))} (is api: ${this.config.api} right for this plug, and channel: ${this.config.channel}?)`,
      this.name,
    );
  }

  private loginError(): FenceError {
    const c = this.config;
    return new FenceError(
      c.password === undefined
        ? `${this.name}: plug ${this.where()} asks for a login: set password: (and username:) for this device in piha.yaml`
        : `${this.name}: plug ${this.where()} refused the login for user ${c.username ?? 'admin'}: wrong password? (check password: in piha.yaml against the plug's web settings)`,
      this.name,
    );
  }

  private where(): string {
    return this.base;
  }

  /** One GET of path (with query), JSON in, FenceError on anything else. */
  private async request(path: string, signal: AbortSignal): Promise<unknown> {
    const c = this.config;
    const timeout = AbortSignal.timeout(c.timeoutMs);
    const sig = AbortSignal.any([signal, timeout]);
    // Tasmota takes the login as query parameters; they never appear in messages.
    let target = path;
    if (c.api === 'tasmota' && c.password !== undefined) {
      target += `&user=${encodeURIComponent(c.username ?? 'admin')}&password=${encodeURIComponent(c.password)}`;
    }
    const url = this.base + target;
    const shown = this.base + path;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (c.api === 'shelly-gen1' && c.password !== undefined) {
      headers.authorization = `Basic ${Buffer.from(`${c.username ?? 'admin'}:${c.password}`).toString('base64')}`;
    }
    try {
      let res = await this.fetch(url, { headers, signal: sig, redirect: 'manual' });
      if (res.status === 401 && c.api === 'shelly-gen2' && c.password !== undefined) {
        const challenge = res.headers.get('www-authenticate');
        await res.body?.cancel().catch(() => {});
        const auth = challenge ? digestAuthorization(challenge, 'GET', new URL(url), c.username ?? 'admin', c.password) : null;
        if (!auth) {
          throw new FenceError(`${this.name}: plug ${this.where()} asked for a login piha cannot answer (${quote(challenge ?? 'no WWW-Authenticate header')}); is api: shelly-gen2 right?`, this.name);
        }
        res = await this.fetch(url, { headers: { ...headers, authorization: auth }, signal: sig, redirect: 'manual' });
      }
      const text = await readText(res);
      if (res.status === 401 || res.status === 403) throw this.loginError();
      if (res.status >= 300 && res.status < 400) {
        throw new FenceError(`${this.name}: ${shown} redirects to ${res.headers.get('location') ?? '?'} (HTTP ${res.status}); write that address as url:`, this.name);
      }
      if (res.status !== 200) {
        throw new FenceError(`${this.name}: ${shown} answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}: ${quote(errorText(text))}${res.status === 404 ? ` (no such channel, or api: ${c.api} is not this plug's API)` : ''}`, this.name);
      }
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new FenceError(`${this.name}: ${shown} answered something that is not JSON: ${quote(text, 80)} (is url: the plug, and api: ${c.api} its API?)`, this.name);
      }
    } catch (err) {
      if (err instanceof FenceError) throw err;
      if (timeout.aborted) {
        throw new FenceError(`${this.name}: no answer from ${shown} within ${formatDuration(c.timeoutMs)} (timed out: is the plug powered and on the network? check url:)`, this.name);
      }
      if (signal.aborted) throw new FenceError(`${this.name}: request to ${shown} ${abortText(signal)}`, this.name);
      throw new FenceError(`${this.name}: cannot reach ${shown}: ${networkText(err)}`, this.name);
    }
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

async function readText(res: Response): Promise<string> {
  const buf = await res.arrayBuffer();
  return Buffer.from(buf.byteLength > MAX_BODY ? buf.slice(0, MAX_BODY) : buf).toString('utf8');
}

/** Shelly Gen2 errors are {"code":-105,"message":"..."}; show the message when there is one. */
function errorText(text: string): string {
  try {
    const j = JSON.parse(text) as unknown;
    if (isObject(j) && typeof j.message === 'string') return j.message;
  } catch {
    // not JSON: show the text itself
  }
  return text;
}

function networkText(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  switch (cause?.code) {
    case 'ECONNREFUSED':
      return 'connection refused (is url: the plug, with the right port?)';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable (is the plug powered and on this network?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found (write the plug\'s IP address as url:)';
    case 'ECONNRESET':
      return 'connection reset by the plug';
    default:
      return cause?.message ?? (err as Error).message;
  }
}

// ---------------------------------------------------------------- HTTP digest (RFC 7616)

const DIGEST_HASH: Record<string, string> = { 'SHA-256': 'sha256', MD5: 'md5' };

/** The parameters of each Digest challenge in a WWW-Authenticate header value. */
export function parseDigestChallenges(header: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const part of header.split(/(?:^|,)\s*(?=Digest\s)/i)) {
    const m = /^Digest\s+(.*)$/is.exec(part.trim());
    if (!m) continue;
    const params: Record<string, string> = {};
    const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
    for (let p = re.exec(m[1]); p; p = re.exec(m[1])) {
      params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
    }
    out.push(params);
  }
  return out;
}

/**
 * The Authorization header answering a Digest challenge (qop=auth, SHA-256 preferred, MD5
 * accepted), or null when no challenge is one we can answer.
 */
export function digestAuthorization(
  header: string,
  method: string,
  url: URL,
  username: string,
  password: string,
  cnonce = randomBytes(8).toString('hex'),
): string | null {
  const usable = parseDigestChallenges(header).filter(
    (c) => c.realm !== undefined && c.nonce !== undefined && DIGEST_HASH[(c.algorithm ?? 'MD5').toUpperCase()] !== undefined,
  );
  const ch = usable.find((c) => c.algorithm?.toUpperCase() === 'SHA-256') ?? usable[0];
  if (!ch) return null;
  const algorithm = (ch.algorithm ?? 'MD5').toUpperCase();
  const h = (s: string) => createHash(DIGEST_HASH[algorithm]).update(s).digest('hex');
  const uri = url.pathname + url.search;
  const ha1 = h(`${username}:${ch.realm}:${password}`);
  const ha2 = h(`${method}:${uri}`);
  const qops = (ch.qop ?? '').split(',').map((q) => q.trim());
  const withQop = qops.includes('auth');
  if (ch.qop !== undefined && !withQop) return null; // only auth-int offered
  const nc = '00000001';
  const response = withQop ? h(`${ha1}:${ch.nonce}:${nc}:${cnonce}:auth:${ha2}`) : h(`${ha1}:${ch.nonce}:${ha2}`);
  const q = (s: string) => `"${s.replace(/(["\\])/g, '\\$1')}"`;
  const parts = [
    `username=${q(username)}`,
    `realm=${q(ch.realm)}`,
    `nonce=${q(ch.nonce)}`,
    `uri=${q(uri)}`,
    `algorithm=${algorithm}`,
    `response=${q(response)}`,
  ];
  if (withQop) parts.push('qop=auth', `nc=${nc}`, `cnonce=${q(cnonce)}`);
  if (ch.opaque !== undefined) parts.push(`opaque=${q(ch.opaque)}`);
  return `Digest ${parts.join(', ')}`;
}
