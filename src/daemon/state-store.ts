// Durable state of one node under the state directory (default /var/lib/piha):
//  - incarnation: a counter bumped at every start (at least the wall clock in ms), so peers
//    order our messages across restarts;
//  - state.json: cluster attributes (standby, move, cleanup), as PersistedState.
// Every write is atomic: temporary file, fsync, rename, fsync of the directory — a power cut
// leaves the old or the new file, never a torn one.

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { PersistedState } from '../core/types.ts';

export function atomicWrite(file: string, data: string, mode = 0o600): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, data);
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

export class StateStore {
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
    atomicWrite(join(this.dir, 'incarnation'), `${next}\n`);
    return next;
  }

  load(): PersistedState | undefined {
    try {
      const raw = JSON.parse(readFileSync(join(this.dir, 'state.json'), 'utf8')) as PersistedState;
      if (raw && typeof raw === 'object' && typeof raw.lamport === 'number' && raw.attrs && typeof raw.attrs === 'object') return raw;
    } catch {
      /* missing or unreadable: start empty, peers gossip the attributes back */
    }
    return undefined;
  }

  save(state: PersistedState): void {
    atomicWrite(join(this.dir, 'state.json'), JSON.stringify(state));
  }
}
