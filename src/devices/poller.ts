// One timer that polls every open input of a backend (sim files, sysfs value files). Polling,
// because neither source can be watched from Node: fs.watch misses files replaced by rename and
// never fires for sysfs attributes, and sysfs' own edge notification needs poll(POLLPRI).

export interface Pollable {
  poll(): Promise<void>;
}

export class InputPoller {
  private readonly inputs = new Set<Pollable>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private busy = false;

  /** pollMs 0: no timer at all; the owner calls pollNow() (tests step the hardware by hand). */
  constructor(private readonly pollMs: number) {}

  add(input: Pollable): void {
    this.inputs.add(input);
    if (this.pollMs <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      if (this.busy) return; // a slow read must not stack polls up
      this.busy = true;
      this.pollNow()
        .catch(() => {}) // a file mid-replacement reads as "no change"; the next poll sees it
        .finally(() => (this.busy = false));
    }, this.pollMs);
    // An open input alone must not keep a finished process (or test run) alive.
    this.timer.unref();
  }

  remove(input: Pollable): void {
    this.inputs.delete(input);
    if (this.inputs.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  async pollNow(): Promise<void> {
    await Promise.all([...this.inputs].map((i) => i.poll()));
  }
}
