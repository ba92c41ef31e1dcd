// Durable state of one node under the state directory (default /var/lib/piha):
//  - incarnation: a counter bumped at every start (at least the wall clock in ms), so peers
//    order our messages across restarts; written once per start with atomicWrite.
//  - state.a / state.b: the PersistedState (attributes, configuration, coordinator term, VIP
//    promises that need a fence), in two slots written in turn.
//
// Why two slots instead of one file replaced atomically: the core persists *before* it
// answers (a granter's new promise at every takeover, a term at every election), so the save
// sits on the failover path, synchronously in the event loop. A replace (temporary file,
// fsync, rename, fsync of the directory) needs two ext4 journal commits, and a journal commit
// waits for every other process's metadata on that file system (on a Pi: the SD card that
// k3s, etcd or a database also fsync). Overwriting a slot that is already allocated and then
// fdatasync() changes no metadata, so it is one data write and one cache flush, away from the
// journal (bench/persist.md, this VM's disk: median 0.4 vs 1.0 ms quiet, 1.2 vs 2.5-2.8 ms
// beside a writer that fsyncs; 3 disk writes a save instead of 7). A crash or power cut in
// the middle of an overwrite tears only the slot being written; its checksum then fails and
// load() takes the other slot, the previous state: "the old or the new state", as the rename
// gave.
//
// Slot format (text, so `cat` shows it): a header line
//   piha-state 1 <seq> <length> <sha256 of "piha-state 1 <seq> <length>\n" and the JSON, hex>
// then the JSON (length bytes), then newlines up to a whole number of 4 KiB blocks, so an
// overwrite covers whole blocks and a slot only grows when the state outgrows it (a slot that
// must grow, or does not exist yet, is written with atomicWrite instead: a new file's name
// needs the directory fsync).
// A state.json left by an older piha is read when no slot is valid, and removed once a slot
// has been written.

import { createHash } from 'node:crypto';
import { closeSync, fdatasyncSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { PersistedState } from '../core/types.ts';

export function atomicWrite(file: string, data: string | Buffer, mode = 0o600): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeAll(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dir = openSync(join(file, '..'), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** writeSync may write less than asked (a full disk, a signal): write the rest, or throw. */
function writeAll(fd: number, buf: Buffer): void {
  for (let off = 0; off < buf.length; ) {
    const n = writeSync(fd, buf, off, buf.length - off, off);
    if (n <= 0) throw new Error(`write made no progress at byte ${off} of ${buf.length}`);
    off += n;
  }
}

export const SLOT_FILES = ['state.a', 'state.b'] as const;
export const LEGACY_FILE = 'state.json';
const MAGIC = 'piha-state 1';
const BLOCK = 4096;

/** Covers the save number and length too, so a flipped digit cannot make an old slot win. */
const digest = (seq: number, json: Buffer) => createHash('sha256').update(`${MAGIC} ${seq} ${json.length}\n`).update(json).digest('hex');

/** The bytes of one slot holding `state` as save number `seq`. */
export function encodeSlot(state: PersistedState, seq: number): Buffer {
  const json = Buffer.from(JSON.stringify(state), 'utf8');
  const header = Buffer.from(`${MAGIC} ${seq} ${json.length} ${digest(seq, json)}\n`, 'latin1');
  const used = header.length + json.length;
  const out = Buffer.alloc(Math.ceil((used + 1) / BLOCK) * BLOCK, '\n');
  header.copy(out, 0);
  json.copy(out, header.length);
  return out;
}

/** A slot's save number and state, or null when it is torn, foreign or not a state. */
export function decodeSlot(buf: Buffer): { seq: number; state: PersistedState } | null {
  const nl = buf.indexOf(0x0a);
  if (nl < 0 || nl > 200) return null;
  const m = /^piha-state 1 (\d{1,15}) (\d{1,10}) ([0-9a-f]{64})$/.exec(buf.subarray(0, nl).toString('latin1'));
  if (!m) return null;
  const seq = Number(m[1]);
  const len = Number(m[2]);
  if (nl + 1 + len > buf.length) return null;
  const json = buf.subarray(nl + 1, nl + 1 + len);
  if (digest(seq, json) !== m[3]) return null;
  const state = parseState(json.toString('utf8'));
  return state ? { seq, state } : null;
}

function parseState(text: string): PersistedState | null {
  try {
    const raw = JSON.parse(text) as PersistedState;
    if (raw && typeof raw === 'object' && typeof raw.lamport === 'number' && raw.attrs && typeof raw.attrs === 'object') return raw;
  } catch {
    /* not JSON */
  }
  return null;
}

function readOrNull(file: string): Buffer | null {
  try {
    return readFileSync(file);
  } catch {
    return null;
  }
}

export class StateStore {
  /** Save number of the newest valid slot (0: none yet); null until the slots were read. */
  private seq: number | null = null;
  /** Index into SLOT_FILES of the slot the next save overwrites (never the newest valid one). */
  private next = 0;
  private legacy = false;
  /** Why load() found nothing, for the daemon's log; null when it found a state or a blank directory. */
  loadProblem: string | null = null;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /** Reads the last incarnation and stores the next one; returns the next. */
  nextIncarnation(): number {
    const file = join(this.dir, 'incarnation');
    let n = 0;
    try {
      n = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
      if (!Number.isSafeInteger(n) || n < 0) n = 0;
    } catch {
      n = 0;
    }
    // Also never below wall-clock milliseconds: a wiped state dir must not reuse old numbers.
    // (Seconds were too coarse: a crash loop restarting several times a second ran the
    // counter ahead of the clock, so a wipe soon after reused numbers peers had seen.)
    const next = Math.max(n + 1, Date.now());
    try {
      atomicWrite(join(this.dir, 'incarnation'), `${next}\n`);
    } catch (err) {
      // At start, before anything was promised: the daemon stops with this message.
      throw new Error(`cannot write the state directory ${this.dir} (${(err as Error).message}): a read-only or full SD card? piha needs it to start`, { cause: err });
    }
    return next;
  }

  /** The newest state saved, or undefined (nothing saved yet, or nothing readable: see loadProblem). */
  load(): PersistedState | undefined {
    this.loadProblem = null;
    let found: { seq: number; state: PersistedState; slot: number } | null = null;
    const unreadable: string[] = [];
    for (let slot = 0; slot < SLOT_FILES.length; slot++) {
      const buf = readOrNull(join(this.dir, SLOT_FILES[slot]!));
      if (buf === null) continue;
      const d = decodeSlot(buf);
      if (!d) unreadable.push(SLOT_FILES[slot]!);
      else if (!found || d.seq > found.seq) found = { ...d, slot };
    }
    this.seq = found?.seq ?? 0;
    this.next = found ? 1 - found.slot : 0;
    const legacyText = readOrNull(join(this.dir, LEGACY_FILE));
    this.legacy = legacyText !== null;
    if (found) return found.state;
    const legacy = legacyText === null ? null : parseState(legacyText.toString('utf8'));
    if (legacy) return legacy;
    const bad = [...unreadable, ...(legacyText !== null ? [LEGACY_FILE] : [])];
    if (bad.length) this.loadProblem = `${bad.join(' and ')} in ${this.dir} not readable as a saved state (torn or foreign); starting from a blank state`;
    return undefined;
  }

  /** Saves `state` durably (it is on disk when this returns); throws when it cannot. */
  save(state: PersistedState): void {
    if (this.seq === null) this.load();
    const seq = this.seq! + 1;
    const buf = encodeSlot(state, seq);
    const file = join(this.dir, SLOT_FILES[this.next]!);
    if (!this.overwrite(file, buf)) atomicWrite(file, buf);
    this.seq = seq;
    this.next = 1 - this.next;
    if (this.legacy) {
      try {
        unlinkSync(join(this.dir, LEGACY_FILE));
      } catch {
        /* already gone; the slots take precedence anyway */
      }
      this.legacy = false;
    }
  }

  /** Writes `buf` over an existing slot at least as large, then fdatasync; false when there is none. */
  private overwrite(file: string, buf: Buffer): boolean {
    let fd: number;
    try {
      fd = openSync(file, 'r+');
    } catch {
      return false;
    }
    try {
      if (fstatSync(fd).size < buf.length) return false;
      writeAll(fd, buf);
      fdatasyncSync(fd);
      return true;
    } finally {
      closeSync(fd);
    }
  }
}
