// GET / of the status server: one self-contained HTML page (no external assets: it works on
// a LAN without internet) that shows the cluster at a glance. Nodes are cards whose LED dot
// blinks in the status LED's rhythm (src/devices/led.ts) and colour:
//
//   solid  green   holds a VIP
//   slow   blue    member with quorum (1 Hz)
//   fast   amber   no quorum (4 Hz)
//   double red     fault or fencing (two short blinks a second)
//   off    grey    offline / stopped
//
// plus quorum, every VIP and its holder, the safety (fencing) mode and recent events. It
// refreshes live from the server-sent events of /events/stream and re-reads /status on each
// event and every few seconds; without a stream (a proxy, 503) it polls /status and /events.

import { createHash } from 'node:crypto';
import type { HttpServer } from './http-server.ts';

const STYLE = `
:root{--bg:#f4f5f7;--card:#fff;--ink:#1d2430;--mute:#6b7280;--line:#d9dde3;
--solid:#1f9d55;--slow:#2563eb;--fast:#d97706;--double:#dc2626;--off:#9ca3af}
*{box-sizing:border-box}
body{margin:0;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--ink)}
header{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:center;padding:.8rem 1.2rem;background:#1d2430;color:#fff}
header h1{font-size:1.2rem;margin:0}
header .sub{color:#c5cad3}
main{padding:1rem 1.2rem;display:grid;gap:1rem}
section h2{font-size:.85rem;text-transform:uppercase;letter-spacing:.06em;color:var(--mute);margin:0 0 .5rem}
.badge{display:inline-block;padding:.15rem .6rem;border-radius:1rem;font-weight:600;color:#fff}
.ok{background:var(--solid)}.bad{background:var(--double)}.warn{background:var(--fast)}.info{background:var(--slow)}
#nodes{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:.8rem}
.node{background:var(--card);border:1px solid var(--line);border-left:8px solid var(--c);border-radius:.5rem;padding:.7rem .8rem}
.node h3{margin:0 0 .3rem;font-size:1.05rem;display:flex;align-items:center;gap:.5rem}
.node .meta{color:var(--mute);font-size:.85rem}
.node .vips{margin-top:.3rem;font-weight:600;color:var(--solid)}
.led{width:14px;height:14px;border-radius:50%;background:var(--c);box-shadow:0 0 6px var(--c);flex:none}
.p-solid{--c:var(--solid)}.p-slow{--c:var(--slow)}.p-fast{--c:var(--fast)}.p-double{--c:var(--double)}.p-off{--c:var(--off)}
.p-slow .led{animation:blink 1s steps(1) infinite}
.p-fast .led{animation:blink .25s steps(1) infinite}
.p-double .led{animation:dbl 1s linear infinite}
.p-off .led{box-shadow:none;opacity:.5}
@keyframes blink{0%{opacity:1}50%{opacity:.15}}
@keyframes dbl{0%,10%{opacity:1}10.01%,25%{opacity:.15}25.01%,35%{opacity:1}35.01%,100%{opacity:.15}}
@media (prefers-reduced-motion:reduce){.led{animation:none!important}}
table{border-collapse:collapse;width:100%;background:var(--card);border:1px solid var(--line);border-radius:.5rem}
th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.8rem;color:var(--mute);font-weight:600}
.panel{background:var(--card);border:1px solid var(--line);border-radius:.5rem;padding:.6rem .8rem}
.panel ul{margin:.2rem 0;padding-left:1.2rem}
#events td:first-child{white-space:nowrap;color:var(--mute);font-variant-numeric:tabular-nums}
.lvl-warn td:nth-child(3){color:var(--fast)}.lvl-error td:nth-child(3){color:var(--double)}
.legend{margin-top:.5rem;display:flex;flex-wrap:wrap;gap:.4rem 1rem;color:var(--mute);font-size:.85rem}
.legend span{display:inline-flex;align-items:center;gap:.35rem}
#conn{margin-left:auto}
`;

const SCRIPT = `
"use strict";
const $ = (id) => document.getElementById(id);
const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");
const PATTERN_TEXT = { solid: "holds a VIP", slow: "member with quorum", fast: "no quorum", double: "fault / fencing", off: "offline" };
let status = null;
let events = [];
let lastSeq = 0;
let stream = null;
let live = false;

// The status LED's pattern of a node, as src/devices/led.ts picks it for its own node.
function patternOf(s, n) {
  if (n.state === "offline") return "off";
  if (n.id === s.node.id && s.led) return s.led;
  const f = s.fencing || {};
  const fault = (f.pending || []).some((p) => p.node === n.name) || (f.blocking || []).includes(n.name) ||
    (s.configMismatch || []).includes(n.name) || (n.id === s.node.id && (f.pending || []).length > 0);
  if (fault) return "double";
  if (s.resources.some((r) => r.holder === n.name)) return "solid";
  return s.quorate ? "slow" : "fast";
}

function age(ms) {
  if (ms === null || ms === undefined) return "never";
  return ms < 1000 ? Math.round(ms) + " ms ago" : (ms / 1000).toFixed(1) + " s ago";
}

function renderStatus(s) {
  document.title = "piha: " + s.cluster;
  $("cluster").textContent = s.cluster;
  const epoch = s.config && s.config.epoch !== undefined ? ", epoch " + s.config.epoch : "";
  $("sub").textContent = "piha " + s.version + " · profile " + s.profile + " · seen from " + s.node.name +
    " · term " + s.term + epoch + " · DC " + (s.coordinator ? s.coordinator.name : "none");
  $("quorum").className = "badge " + (s.quorate ? "ok" : "bad");
  $("quorum").textContent = (s.quorate ? "quorum " : "NO QUORUM ") + s.votes + "/" + s.expectedVotes + " votes (need " + s.quorumVotes + ")";
  $("nodes").innerHTML = s.nodes.map((n) => {
    const p = patternOf(s, n);
    const vips = s.resources.filter((r) => r.holder === n.name).map((r) => r.ip);
    const tags = [n.role, n.state, n.id === s.node.id ? "this node" : "seen " + age(n.lastSeenMs)];
    if (s.coordinator && s.coordinator.id === n.id) tags.push("DC");
    return '<div class="node p-' + p + '" data-node="' + esc(n.name) + '" data-pattern="' + p + '">' +
      '<h3><span class="led" title="LED: ' + p + '"></span>' + esc(n.name) + '</h3>' +
      '<div class="meta">' + esc(PATTERN_TEXT[p]) + '</div><div class="meta">' + esc(tags.join(" · ")) + '</div>' +
      (vips.length ? '<div class="vips">' + vips.map(esc).join(", ") + '</div>' : "") + '</div>';
  }).join("");
  $("vips").innerHTML = s.resources.length ? s.resources.map((r) => {
    const fails = Object.entries(r.failCounts || {}).filter((e) => e[1] > 0).map((e) => e[0] + ": " + e[1]).join(", ");
    return '<tr data-resource="' + esc(r.name) + '"><td>' + esc(r.name) + '</td><td>' + esc(r.ip + "/" + r.cidrNetmask) +
      '</td><td>' + esc(r.state) + '</td><td class="holder">' + esc(r.holder || "nobody") + '</td><td>' + esc(fails || "-") + '</td></tr>';
  }).join("") : '<tr><td colspan="5">no resources</td></tr>';
  const f = s.fencing;
  const modes = (s.safety.modes || [s.safety.mode]).join(" + ");
  const lines = ["<li>safety: <b>" + esc(modes) + "</b>" + (s.safety.kernelLifetime ? ", kernel address lifetime" : "") + "</li>"];
  if (f) {
    lines.push("<li>stonith " + (f.stonithEnabled ? "enabled" : "disabled") + ", action " + esc(f.action) +
      (f.watchdog && f.watchdog.enabled ? ", watchdog " + esc(f.watchdog.device) : ", no watchdog") + "</li>");
    if ((f.devices || []).length) lines.push("<li>devices: " + f.devices.map((d) => esc(d.name + " (" + d.type + ") → " + d.hosts.join(", "))).join("; ") + "</li>");
    for (const p of f.pending || []) lines.push('<li class="warnline"><span class="badge bad">fencing</span> ' + esc(p.node) + ", " + p.attempts + " attempt(s)" + (p.lastError ? ": " + esc(p.lastError) : "") + "</li>");
    if ((f.blocking || []).length) lines.push('<li><span class="badge warn">waiting</span> VIPs of ' + esc(f.blocking.join(", ")) + " wait for a fence</li>");
  }
  if ((s.configMismatch || []).length) lines.push('<li><span class="badge warn">config</span> differs on ' + esc(s.configMismatch.join(", ")) + "</li>");
  if (s.configPending) lines.push("<li>" + esc(s.configPending) + "</li>");
  if (s.stateSave) lines.push('<li class="warnline"><span class="badge bad">state</span> cannot save in ' + esc(s.stateSave.dir) + " for " + s.stateSave.silentForSec + " s (" + esc(s.stateSave.error) + "): this node sends nothing until it can</li>");
  for (const c of s.safety.doesNotCover || []) lines.push('<li class="mute">not covered: ' + esc(c) + "</li>");
  $("safety").innerHTML = "<ul>" + lines.join("") + "</ul>";
}

function renderEvents() {
  const rows = events.slice(-50).reverse().map((e) =>
    '<tr class="lvl-' + esc(e.level) + '" data-seq="' + e.seq + '"><td>' + esc(e.time.replace("T", " ").replace(/\\.\\d+Z$/, "Z")) +
    "</td><td>" + esc(e.category) + "</td><td>" + esc(e.message) + "</td><td>" + esc(e.term) + "</td></tr>");
  $("events").innerHTML = rows.join("") || '<tr><td colspan="4">no events yet</td></tr>';
}

function addEvents(list) {
  for (const e of list) if (e.seq > lastSeq) { events.push(e); lastSeq = e.seq; }
  if (events.length > 500) events = events.slice(-500);
  renderEvents();
}

async function get(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}

let refreshing = null;
async function refresh() {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    try {
      status = await get("/status");
      renderStatus(status);
      if (!live) {
        const p = await get("/events?since=" + lastSeq);
        if (p.latestSeq < lastSeq) { events = []; lastSeq = 0; } // the daemon restarted
        addEvents(p.events);
      }
      setConn(live ? "live" : "polling", live ? "ok" : "warn");
    } catch (err) {
      setConn("unreachable", "bad");
    } finally { refreshing = null; }
  })();
  return refreshing;
}

function setConn(text, cls) {
  $("conn").className = "badge " + cls;
  $("conn").textContent = text;
}

function openStream() {
  if (!window.EventSource) return;
  stream = new EventSource("/events/stream?since=" + lastSeq);
  stream.onopen = () => { live = true; setConn("live", "ok"); };
  stream.onerror = () => {
    live = false;
    setConn("polling", "warn");
    if (stream.readyState === EventSource.CLOSED) { stream = null; setTimeout(openStream, 10000); }
  };
  const onEvent = (m) => {
    try { addEvents([JSON.parse(m.data)]); } catch (e) { return; }
    refresh();
  };
  stream.onmessage = onEvent;
  for (const c of ["quorum", "vip", "coordinator", "node", "fencing", "config", "resource", "command", "hook", "daemon", "other"]) stream.addEventListener(c, onEvent);
}

async function start() {
  try { addEvents((await get("/events")).events); } catch (e) { /* older daemon: no history */ }
  await refresh();
  openStream();
  // Ages and peers' holdings change without an event here: re-read now and then.
  setInterval(refresh, 2000);
}
start();
`;

const BODY = `<header><h1 id="cluster">piha</h1><span class="sub" id="sub">loading…</span>
<span class="badge warn" id="quorum">quorum ?</span><span class="badge warn" id="conn">connecting</span></header>
<main>
<section><h2>Nodes</h2><div id="nodes"></div>
<div class="legend">
<span class="p-solid"><i class="led"></i>solid: holds a VIP</span><span class="p-slow"><i class="led"></i>slow blink: member with quorum</span>
<span class="p-fast"><i class="led"></i>fast blink: no quorum</span><span class="p-double"><i class="led"></i>double blink: fault / fencing</span>
<span class="p-off"><i class="led"></i>offline</span></div></section>
<section><h2>Virtual IPs</h2><table><thead><tr><th>resource</th><th>address</th><th>state</th><th>holder</th><th>fail counts</th></tr></thead><tbody id="vips"></tbody></table></section>
<section><h2>Safety and fencing</h2><div class="panel" id="safety"></div></section>
<section><h2>Recent events</h2><table><thead><tr><th>time</th><th>kind</th><th>event</th><th>term</th></tr></thead><tbody id="events"></tbody></table></section>
</main>`;

export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>piha</title><link rel="icon" href="data:,"><style>${STYLE}</style></head>
<body>${BODY}
<noscript><p style="padding:1rem">This page needs JavaScript; the same data is at <a href="/status">/status</a> and <a href="/events">/events</a>.</p></noscript>
<script>${SCRIPT}</script></body></html>
`;

const sha256 = (s: string): string => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

/** Only this page's own script and style, and requests back to this server. */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function registerStatusPage(app: HttpServer): void {
  app.get('/', () => ({
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': STATUS_PAGE_CSP,
      'x-content-type-options': 'nosniff',
    },
    body: STATUS_PAGE_HTML,
  }));
}
