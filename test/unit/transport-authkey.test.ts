import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { generateKey, loadKeyFile, writeKeyFile } from '../../src/transport/authkey.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'piha-authkey-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = () => path.join(dir, `authkey-${++n}`);
const isRoot = process.getuid?.() === 0;

describe('authkey', () => {
  it('generates 32 random bytes', () => {
    const a = generateKey();
    assert.equal(a.length, 32);
    assert.notDeepEqual(a, generateKey());
  });

  it('writes 64 hex characters with mode 0600 and loads them back', () => {
    const f = fresh();
    const key = writeKeyFile(f);
    assert.equal(fs.statSync(f).mode & 0o777, 0o600);
    assert.match(fs.readFileSync(f, 'utf8'), /^[0-9a-f]{64}\n$/);
    assert.deepEqual(loadKeyFile(f), key);
  });

  it('refuses to overwrite unless forced; force replaces atomically with mode 0600', () => {
    const f = fresh();
    const k1 = writeKeyFile(f);
    assert.throws(() => writeKeyFile(f), /already exists; refusing to overwrite/);
    assert.deepEqual(loadKeyFile(f), k1);
    fs.chmodSync(f, 0o644);
    const k2 = writeKeyFile(f, { force: true });
    assert.notDeepEqual(k1, k2);
    assert.equal(fs.statSync(f).mode & 0o777, 0o600);
    assert.deepEqual(loadKeyFile(f), k2);
    assert.deepEqual(fs.readdirSync(dir).filter((x) => x.endsWith('.tmp')), []);
  });

  it('a missing file gives a clear error', () => {
    assert.throws(() => loadKeyFile(path.join(dir, 'nope')), /authkey .*nope does not exist/);
  });

  it('refuses a key readable by others with the exact fix', () => {
    const f = fresh();
    writeKeyFile(f);
    fs.chmodSync(f, 0o644);
    assert.throws(() => loadKeyFile(f), { message: `${f} is readable by others (mode 0644); run: chmod 600 ${f}` });
  });

  it('refuses group access too, and accepts 0400', () => {
    const f = fresh();
    writeKeyFile(f);
    fs.chmodSync(f, 0o640);
    assert.throws(() => loadKeyFile(f), /is readable by group \(mode 0640\); run: chmod 600/);
    fs.chmodSync(f, 0o620);
    assert.throws(() => loadKeyFile(f), /is writable by group \(mode 0620\)/);
    fs.chmodSync(f, 0o602);
    assert.throws(() => loadKeyFile(f), /is writable by others \(mode 0602\)/);
    fs.chmodSync(f, 0o400);
    assert.equal(loadKeyFile(f).length, 32);
  });

  it('refuses wrong length and non-hex content without echoing it', () => {
    const put = (text: string) => {
      const f = fresh();
      fs.writeFileSync(f, text, { mode: 0o600 });
      return f;
    };
    assert.throws(() => loadKeyFile(put('abcd\n')), /expected 64 hex characters \(32 bytes\), found 4 characters$/);
    assert.throws(() => loadKeyFile(put('a'.repeat(66))), /found 66 characters/);
    const secret = 'z'.repeat(64);
    assert.throws(
      () => loadKeyFile(put(secret)),
      (e: Error) => /including non-hex ones/.test(e.message) && !e.message.includes(secret),
    );
    assert.throws(() => loadKeyFile(put('')), /found 0 characters/);
    assert.throws(() => loadKeyFile(put('0'.repeat(5000))), /too large/);
    // surrounding whitespace is tolerated (editors add newlines)
    assert.deepEqual(loadKeyFile(put(`  ${'ab'.repeat(32)}\r\n\n`)), Buffer.alloc(32, 0xab));
  });

  it('refuses a directory', () => {
    const d = path.join(dir, 'adir');
    fs.mkdirSync(d, { mode: 0o700 });
    assert.throws(() => loadKeyFile(d), /not a regular file|EISDIR/);
  });

  it('refuses a key owned by another user', { skip: !isRoot && 'needs root to chown' }, () => {
    const f = fresh();
    writeKeyFile(f);
    fs.chownSync(f, 1234, 1234);
    assert.throws(() => loadKeyFile(f), new RegExp(`owned by uid 1234, not by this process \\(uid 0\\); run: chown 0 ${f}`));
  });
});
