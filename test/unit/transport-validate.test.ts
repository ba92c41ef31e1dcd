// The validator's error texts name the path of the first bad value. It builds those paths only
// for a value that fails (src/transport/validate.ts), so these pin the paths at every kind of
// nesting: a field, an array item, a record key and value, an optional sub-shape, a tuple.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkMessage } from '../../src/transport/validate.ts';

const hb = () => ({
  t: 'hb',
  from: 1,
  inc: 3,
  term: 2,
  holds: ['vip0'],
  fails: { vip0: 1 },
  attrs: { 'standby:n1': { v: true, c: 3, n: 1 } },
  req: { round: 5, keys: ['coord', 'r:vip0'] },
  cv: [1, 2, 3, 4],
  grant: { to: 2, toInc: 1, round: 4, granted: ['coord'], denied: [{ key: 'r:vip0', holder: 3, remainingMs: 12.5 }], term: 2 },
});

test('a valid heartbeat passes', () => {
  assert.equal(checkMessage(hb()), null);
});

test('each kind of bad value is named by its path', () => {
  const cases: [(m: any) => void, string][] = [
    [(m) => (m.term = -1), 'msg.term: expected a non-negative integer'],
    [(m) => (m.from = 0), 'msg.from: expected an integer in [1, 65535]'],
    [(m) => delete m.inc, 'msg: missing field "inc"'],
    [(m) => (m.extra = 1), 'msg: unexpected field "extra"'],
    [(m) => (m.holds = ['vip0', '']), 'msg.holds[1]: expected a string of 1..66 characters'],
    [(m) => (m.holds = 'vip0'), 'msg.holds: expected an array'],
    [(m) => (m.fails = { vip0: 1.5 }), 'msg.fails.vip0: expected a non-negative integer'],
    [(m) => (m.fails = { ['x'.repeat(65)]: 1 }), 'msg.fails key: expected a string of 1..64 characters'],
    [(m) => (m.attrs['standby:n1'].v = {}), 'msg.attrs.standby:n1.v: expected a string of 0..256 characters'],
    [(m) => (m.attrs['standby:n1'].n = -2), 'msg.attrs.standby:n1.n: expected an integer in [0, 65535]'],
    [(m) => (m.req.keys = ['coord', 7]), 'msg.req.keys[1]: expected a string of 1..66 characters'],
    [(m) => (m.req.coordTerm = 'x'), 'msg.req.coordTerm: expected a non-negative integer'],
    [(m) => (m.cv = [1, 2, 3]), 'msg.cv: expected an array of 4 items'],
    [(m) => (m.cv = [1, 2, -3, 4]), 'msg.cv[2]: expected a non-negative integer'],
    [(m) => (m.grant.denied[0].remainingMs = -1), 'msg.grant.denied[0].remainingMs: expected a finite number >= 0'],
    [(m) => (m.grant.denied[0].surprise = 1), 'msg.grant.denied[0]: unexpected field "surprise"'],
    [(m) => (m.grant = []), 'msg.grant: expected an object'],
  ];
  for (const [mutate, want] of cases) {
    const m = hb();
    mutate(m);
    assert.equal(checkMessage(JSON.parse(JSON.stringify(m))), want);
  }
  const proto = JSON.parse('{"t":"hb","from":1,"inc":1,"term":0,"holds":[],"fails":{"__proto__":1},"attrs":{}}');
  assert.equal(checkMessage(proto), 'msg.fails: forbidden key "__proto__"');
});
