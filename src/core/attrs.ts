// Cluster-wide attributes (standby flags, move constraints, cleanup generations) as a
// last-writer-wins map ordered by (lamport counter, writer id). Every heartbeat gossips the
// whole map (it holds a handful of entries), so writes made on any node reach every node
// despite loss and partitions, and converge to the same values after healing. The order is
// total only if no two writes share (counter, writer, incarnation): a node restarted without
// its state counts from 0 again, so its incarnation breaks the tie — its new write wins over
// its earlier run's at the same counter (simulator seed 16582: the two nodes kept different
// values of standby:n2, both written at (1, n1), for good).

import type { AttrEntry } from './types.ts';

export const standbyKey = (node: string) => `standby:${node}`;
export const moveKey = (resource: string) => `move:${resource}`;
export const cleanupKey = (resource: string) => `cleanup:${resource}`;

export const MAX_ATTRS = 256;

function newer(a: AttrEntry, b: AttrEntry | undefined): boolean {
  if (!b) return true;
  if (a.c !== b.c) return a.c > b.c;
  if (a.n !== b.n) return a.n > b.n;
  return (a.i ?? 0) > (b.i ?? 0);
}

export class AttrMap {
  entries: Record<string, AttrEntry> = {};
  lamport = 0;

  constructor(
    private readonly self: number,
    private readonly incarnation = 0,
  ) {}

  get(key: string): AttrEntry['v'] | undefined {
    return this.entries[key]?.v;
  }

  set(key: string, v: AttrEntry['v']): void {
    this.lamport += 1;
    this.entries[key] = { v, c: this.lamport, n: this.self, ...(this.incarnation ? { i: this.incarnation } : {}) };
  }

  /** Merge a peer's map; returns the keys whose value changed here. */
  merge(other: Record<string, AttrEntry>): string[] {
    const changed: string[] = [];
    for (const [k, e] of Object.entries(other)) {
      this.lamport = Math.max(this.lamport, e.c);
      if (newer(e, this.entries[k])) {
        if (Object.keys(this.entries).length >= MAX_ATTRS && !(k in this.entries)) continue;
        this.entries[k] = { ...e };
        changed.push(k);
      }
    }
    return changed;
  }
}
