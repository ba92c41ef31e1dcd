// Monitor failures of the resources this node holds, as Pacemaker's fail counts:
// migration-threshold moves a resource away once its count reaches the threshold;
// failure-timeout forgets a failure that old (0 = never). `cleanup` resets the count.

export class FailCounts {
  private times = new Map<string, number[]>();

  record(resource: string, now: number): void {
    const list = this.times.get(resource) ?? [];
    list.push(now);
    if (list.length > 1000) list.shift(); // everything has a limit
    this.times.set(resource, list);
  }

  count(resource: string, now: number, failureTimeoutMs: number): number {
    const list = this.times.get(resource);
    if (!list) return 0;
    if (failureTimeoutMs > 0) {
      const kept = list.filter((t) => now - t < failureTimeoutMs);
      if (kept.length !== list.length) this.times.set(resource, kept);
      return kept.length;
    }
    return list.length;
  }

  reset(resource: string): void {
    this.times.delete(resource);
  }
}
