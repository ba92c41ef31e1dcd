// Small helpers shared by the fence devices.

import { FenceError, type FenceDevice } from './types.ts';

/** A device is asked only about the nodes it lists; anything else is a caller bug or a config mix-up. */
export function checkHost(device: Pick<FenceDevice, 'name' | 'hosts'>, node: string): void {
  if (!device.hosts.includes(node)) {
    throw new FenceError(`${device.name}: cannot fence ${node}: this device only fences ${device.hosts.join(', ')} (hosts: in piha.yaml)`, device.name);
  }
}

/** Why a signal was aborted, in words: a timeout or the caller giving up. */
export function abortText(signal: AbortSignal): string {
  const reason = signal.reason as { name?: string; message?: string } | undefined;
  if (reason?.name === 'TimeoutError') return 'timed out';
  // abort() without a reason: a DOMException AbortError, whose message says nothing more.
  if (reason?.name === 'AbortError') return 'aborted';
  return reason?.message ? `aborted (${reason.message})` : 'aborted';
}

/** Settles with `p`, or rejects with a FenceError as soon as `signal` aborts (the work itself
 *  may finish later; its result is then dropped). */
export function raceAbort<T>(p: Promise<T>, signal: AbortSignal, device: string, what: string): Promise<T> {
  if (signal.aborted) {
    p.catch(() => {});
    return Promise.reject(new FenceError(`${device}: ${what} ${abortText(signal)} before it started`, device));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      p.catch(() => {});
      reject(new FenceError(`${device}: ${what} ${abortText(signal)}`, device));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** The last `max` bytes of a text, for error messages (command output, HTTP bodies). */
export function tail(text: string, max: number): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= max) return text;
  // Cutting a UTF-8 sequence in half gives a replacement char at the start: harmless here.
  return `…${buf.subarray(buf.length - max).toString('utf8')}`;
}

/** A short quote of a response body: one line, at most `max` characters. */
export function quote(text: string, max = 120): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(one.length > max ? `${one.slice(0, max)}…` : one);
}
