import { test } from 'node:test';
import { Core } from '../../src/core/node.ts';
import type { Effect, Message } from '../../src/core/types.ts';
import { config } from './core-helpers.ts';
test('diag wakeup-driven', () => {
  const cfg = config({});
  let now = 0;
  const cores = [1,2,3].map(id => new Core({config: cfg, self: id, incarnation: 1, seed: id, now}));
  const q: {to:number, msg: Message}[] = [];
  let cut = (f:number,t:number)=>false;
  const log = (id:number, out: Effect[]) => { for (const e of out) { if (e.kind==='send') { if(!cut(id,e.to)) q.push({to:e.to,msg:structuredClone(e.msg)}) } else if (e.kind!=='persist' && e.kind!=='refresh' && !(e.kind==='log' && e.level==='debug')) console.log(now, 'n'+id, e.kind==='log'? e.event+' '+JSON.stringify(e.fields): JSON.stringify(e)); } };
  const step = (id:number, inp:any) => { log(id, cores[id-1].step(inp, now)); while(q.length){const m=q.shift()!; log(m.to, cores[m.to-1].step({kind:'message', msg:m.msg}, now));} };
  const wake = [0,0,0];
  const runUntil = (end: number) => { while (true) { const w = Math.min(...cores.map(c=>c.nextWakeup())); if (w > end) { now = end; return; } now = Math.max(now, w); for (const [i,c] of cores.entries()) if (c.nextWakeup() <= now) step(i+1, {kind:'tick'}); } };
  runUntil(2000);
  console.log('--- cut n1 at', now);
  cut = (f,t)=> f===1||t===1;
  runUntil(5000);
});
