// A fence device: something that can cut (and restore) the power of one or more nodes and
// say whether it is off. Pacemaker's stonith words: a device lists the nodes it can fence
// (pcmk_host_list); a fence is confirmed only by reading the power state back as off.
//
// Devices are small and dumb on purpose: the fence runner (src/daemon/fence-runner.ts)
// composes them into the actions the cluster needs — off, confirm by read-back, tell the
// cluster, then for `reboot` wait and switch on again — with timeouts and retries in one place.

export type PowerState = 'on' | 'off';

export interface FenceDevice {
  readonly name: string;
  readonly type: 'gpio-relay' | 'http-plug' | 'exec';
  /** Node names this device can fence (pcmk_host_list). */
  readonly hosts: readonly string[];
  /** Cut the power of `node`. Resolves when the device accepted the command. */
  off(node: string, signal: AbortSignal): Promise<void>;
  /** Restore the power of `node`. */
  on(node: string, signal: AbortSignal): Promise<void>;
  /** Read the power state back from the device (not from what we last asked for, where the device can tell). */
  status(node: string, signal: AbortSignal): Promise<PowerState>;
  /** Release GPIO lines, sockets. */
  close(): Promise<void>;
}

/** A failure a user can act on: `message` says what failed and what to check. */
export class FenceError extends Error {
  constructor(
    message: string,
    readonly device: string,
  ) {
    super(message);
    this.name = 'FenceError';
  }
}
