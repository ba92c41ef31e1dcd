// A fence device that is a program: `command... ACTION NODE`, ACTION one of off, on, status,
// also given as the environment variables PIHA_FENCE_ACTION and PIHA_FENCE_NODE. For any
// power switch piha has no driver for (an IPMI/BMC, a PDU, a plug with another API).
//
// Conventions (as fence agents): exit 0 = success; for status, exit 0 = the node is powered
// (on), exit 2 = it is off, anything else = the state is unknown (an error). No shell: the
// argv from piha.yaml is run as is. A command still running at the timeout is killed with its
// whole process group (it runs as a group leader), so a script's children (curl, ssh) die too.

import { spawn } from 'node:child_process';
import { formatDuration } from '../config/duration.ts';
import type { ExecDeviceConfig } from '../config/types.ts';
import { FenceError, type FenceDevice, type PowerState } from './types.ts';
import { abortText, checkHost, tail } from './util.ts';

export type FenceAction = 'off' | 'on' | 'status';

/** How much of stdout and of stderr an error message quotes (the end, where the reason is). */
export const OUTPUT_TAIL_BYTES = 500;
/** Exit code of `status` for a node that is powered off (fence agents' convention). */
export const STATUS_OFF_EXIT = 2;

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export class ExecDevice implements FenceDevice {
  readonly type = 'exec' as const;
  readonly name: string;
  readonly hosts: readonly string[];

  constructor(readonly config: ExecDeviceConfig) {
    this.name = config.name;
    this.hosts = config.hosts;
  }

  async off(node: string, signal: AbortSignal): Promise<void> {
    checkHost(this, node);
    this.expectSuccess('off', node, await this.run('off', node, signal));
  }

  async on(node: string, signal: AbortSignal): Promise<void> {
    checkHost(this, node);
    this.expectSuccess('on', node, await this.run('on', node, signal));
  }

  async status(node: string, signal: AbortSignal): Promise<PowerState> {
    checkHost(this, node);
    const r = await this.run('status', node, signal);
    if (r.code === 0) return 'on';
    if (r.code === STATUS_OFF_EXIT) return 'off';
    throw this.failure('status', node, r, ` (status must exit 0 for on or ${STATUS_OFF_EXIT} for off)`);
  }

  async close(): Promise<void> {
    // Nothing held open between commands.
  }

  private expectSuccess(action: FenceAction, node: string, r: Outcome): void {
    if (r.code !== 0) throw this.failure(action, node, r, '');
  }

  private failure(action: FenceAction, node: string, r: Outcome, hint: string): FenceError {
    const how = r.code !== null ? `exited with ${r.code}` : `was killed by ${r.signal ?? 'a signal'}`;
    return new FenceError(`${this.name}: \`${this.show(action, node)}\` ${how}${hint}${output(r)}`, this.name);
  }

  private show(action: FenceAction, node: string): string {
    return [...this.config.command, action, node].join(' ');
  }

  private run(action: FenceAction, node: string, signal: AbortSignal): Promise<Outcome> {
    const [cmd, ...args] = this.config.command;
    const shown = this.show(action, node);
    return new Promise<Outcome>((resolve, reject) => {
      if (signal.aborted) {
        reject(new FenceError(`${this.name}: \`${shown}\` ${abortText(signal)} before it started`, this.name));
        return;
      }
      const child = spawn(cmd, [...args, action, node], {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // its own process group, so the timeout can kill all of it
        env: { ...process.env, PIHA_FENCE_ACTION: action, PIHA_FENCE_NODE: node },
      });
      let stdout = '';
      let stderr = '';
      // Keep a little more than the tail in memory; tail() trims to bytes at the end.
      const keep = OUTPUT_TAIL_BYTES * 4;
      child.stdout.setEncoding('utf8');
      child.stderr.setEncoding('utf8');
      child.stdout.on('data', (d: string) => {
        stdout = (stdout + d).slice(-keep);
      });
      child.stderr.on('data', (d: string) => {
        stderr = (stderr + d).slice(-keep);
      });

      let settled = false;
      const finish = (f: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        f();
      };
      const killGroup = () => {
        if (child.pid === undefined) return;
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      };
      const timer = setTimeout(() => {
        killGroup();
        finish(() =>
          reject(
            new FenceError(
              `${this.name}: \`${shown}\` did not finish within ${formatDuration(this.config.timeoutMs)} (timed out; killed it and its process group; raise timeout: if the device is just slow)${output({ stdout, stderr })}`,
              this.name,
            ),
          ),
        );
      }, this.config.timeoutMs);
      const onAbort = () => {
        killGroup();
        finish(() => reject(new FenceError(`${this.name}: \`${shown}\` ${abortText(signal)} (killed it and its process group)`, this.name)));
      };
      signal.addEventListener('abort', onAbort, { once: true });

      child.on('error', (err: NodeJS.ErrnoException) => {
        const fix =
          err.code === 'ENOENT' ? 'no such program; check command: in piha.yaml (write its absolute path)'
          : err.code === 'EACCES' ? 'not executable; chmod +x it'
          : err.message;
        finish(() => reject(new FenceError(`${this.name}: cannot run ${cmd}: ${fix}`, this.name)));
      });
      // 'close' waits for stdout/stderr to end, so the output is complete; a child that left a
      // grandchild holding the pipes still ends at the timeout.
      child.on('close', (code, sig) => finish(() => resolve({ code, signal: sig, stdout, stderr })));
    });
  }
}

function output(r: { stdout: string; stderr: string }): string {
  const parts: string[] = [];
  const err = r.stderr.trim();
  const out = r.stdout.trim();
  if (err) parts.push(`stderr: ${JSON.stringify(tail(err, OUTPUT_TAIL_BYTES))}`);
  if (out) parts.push(`stdout: ${JSON.stringify(tail(out, OUTPUT_TAIL_BYTES))}`);
  return parts.length > 0 ? `; ${parts.join('; ')}` : '';
}
