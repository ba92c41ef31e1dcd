// How the chardev backend starts the libgpiod tools. An interface so the unit tests can stand in
// a fake that records argv and answers with canned tool output: there is no /dev/gpiochip here.

import { execFile, spawn } from 'node:child_process';

export interface RunResult {
  /** Exit code; null when killed by a signal (e.g. the timeout). */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last few KB of stderr: the tools' reason for dying ("Device or resource busy"). */
  stderr: string;
}

/** A long-running tool (gpioset holding a line, gpiomon watching one). */
export interface RunningCommand {
  /** Raw stdout chunks (gpioset's interactive prompt is not newline-terminated). */
  onStdout(cb: (chunk: string) => void): void;
  write(data: string): void;
  kill(signal?: NodeJS.Signals): void;
  /** Settles once, when the process has gone (also when it could not be started). */
  readonly exited: Promise<ChildExit>;
}

export interface CommandRunner {
  run(cmd: string, args: readonly string[], opts?: { timeoutMs?: number }): Promise<RunResult>;
  start(cmd: string, args: readonly string[]): RunningCommand;
}

const STDERR_KEEP = 4096;

/** The real runner: no shell (argv is passed as is), output as UTF-8. */
export const processRunner: CommandRunner = {
  run(cmd, args, opts = {}) {
    return new Promise((resolve, reject) => {
      execFile(cmd, [...args], { timeout: opts.timeoutMs ?? 5000, encoding: 'utf8' }, (err, stdout, stderr) => {
        if (err && typeof (err as NodeJS.ErrnoException).code === 'string') {
          // ENOENT and friends: the tool is not installed; say which package provides it.
          reject(new Error(`cannot run ${cmd}: ${err.message} (Debian package: gpiod)`));
          return;
        }
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  },

  start(cmd, args) {
    const child = spawn(cmd, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      stderr = (stderr + d).slice(-STDERR_KEEP);
    });
    // Writing to a tool that just died raises EPIPE on stdin; the exit is reported via `exited`.
    child.stdin.on('error', () => {});
    const exited = new Promise<ChildExit>((resolve) => {
      child.on('error', (err) => resolve({ code: null, signal: null, stderr: `cannot run ${cmd}: ${err.message}` }));
      child.on('close', (code, signal) => resolve({ code, signal, stderr }));
    });
    return {
      onStdout: (cb) => void child.stdout.on('data', cb),
      write: (data) => void child.stdin.write(data),
      kill: (signal = 'SIGTERM') => void child.kill(signal),
      exited,
    };
  },
};
