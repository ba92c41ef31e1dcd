// The cluster authkey: 32 random bytes shared by every node, from which the per-cluster MAC
// key is derived (codec.ts). Anyone who can read it can forge cluster messages (take over a
// VIP, split the cluster), and anyone who can write it can cut a node off, so loading is
// strict about permissions and ownership, the way ssh is about private keys.
//
// File format: the 32 bytes as 64 hexadecimal characters followed by a newline. Text rather
// than raw bytes so it survives copy-and-paste into provisioning tools and is diffable;
// leading/trailing whitespace is ignored when loading, nothing else is accepted.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const KEY_BYTES = 32;
const MAX_FILE_BYTES = 1024; // a valid file is 65 bytes; refuse to slurp anything big

export function generateKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

function formatKey(key: Buffer): string {
  return `${key.toString('hex')}\n`;
}

/**
 * Generate a key and write it to `file` with mode 0600. Refuses to replace an existing file
 * (replacing the key of a running cluster partitions it) unless `force`, in which case the
 * new file is written beside it and renamed over it, so the key is never half-written.
 * Returns the key.
 */
export function writeKeyFile(file: string, opts: { force?: boolean } = {}): Buffer {
  const key = generateKey();
  const target = opts.force ? path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`) : file;
  let fd: number;
  try {
    fd = fs.openSync(target, 'wx', 0o600); // O_EXCL: never follow or reuse an existing file
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EEXIST' && !opts.force) {
      throw new Error(`${file} already exists; refusing to overwrite the cluster key (use force to replace it)`);
    }
    throw new Error(`cannot create ${target}: ${e.message}`, { cause: err });
  }
  try {
    fs.fchmodSync(fd, 0o600); // the umask can only clear bits, but be explicit
    fs.writeSync(fd, formatKey(key));
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(target, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  if (opts.force) {
    try {
      fs.renameSync(target, file);
    } catch (err) {
      fs.rmSync(target, { force: true });
      throw err;
    }
  }
  return key;
}

/** "readable by others", "writable by group", ... for the worst permission bit set. */
function exposure(mode: number): string {
  if (mode & 0o004) return 'readable by others';
  if (mode & 0o002) return 'writable by others';
  if (mode & 0o040) return 'readable by group';
  if (mode & 0o020) return 'writable by group';
  return 'accessible by group or others';
}

/**
 * Read and check the key file. Throws an Error whose message says what is wrong and how to
 * fix it: missing, unreadable, not a regular file, permissions wider than 0600 (or 0400),
 * owned by another user, or not exactly 64 hex characters.
 */
export function loadKeyFile(file: string): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') {
      throw new Error(`authkey ${file} does not exist; generate it on one node and copy it to every node (mode 0600)`);
    }
    if (e.code === 'EACCES') throw new Error(`authkey ${file} is not readable by this user (uid ${process.getuid?.()})`);
    throw new Error(`cannot open authkey ${file}: ${e.message}`, { cause: err });
  }
  try {
    // fstat on the opened descriptor: checks the very file we read, no check-then-use race.
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new Error(`authkey ${file} is not a regular file`);
    const perm = st.mode & 0o777;
    if (perm & 0o077) {
      const m = perm.toString(8).padStart(4, '0');
      throw new Error(`${file} is ${exposure(perm)} (mode ${m}); run: chmod 600 ${file}`);
    }
    // Whoever owns the file can chmod or rewrite it; it must be us (root for the daemon).
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid) {
      throw new Error(`${file} is owned by uid ${st.uid}, not by this process (uid ${uid}); run: chown ${uid} ${file}`);
    }
    if (st.size > MAX_FILE_BYTES) throw new Error(`authkey ${file} is too large (${st.size} bytes); expected 64 hex characters`);
    const buf = Buffer.alloc(MAX_FILE_BYTES + 1);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    const text = buf.subarray(0, n).toString('latin1').trim();
    if (!/^[0-9a-fA-F]{64}$/.test(text)) {
      // Never echo the content: it may be (part of) a secret.
      throw new Error(
        `authkey ${file} is not a valid key: expected ${KEY_BYTES * 2} hex characters (${KEY_BYTES} bytes), ` +
          `found ${text.length} characters${/^[0-9a-fA-F]*$/.test(text) ? '' : ' including non-hex ones'}`,
      );
    }
    return Buffer.from(text, 'hex');
  } finally {
    fs.closeSync(fd);
  }
}
