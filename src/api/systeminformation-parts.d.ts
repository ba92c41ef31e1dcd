// Types for the two systeminformation modules src/api/system-info.ts imports directly (the
// package types only its index). The shapes are the package's own.
declare module 'systeminformation/lib/memory.js' {
  import type { Systeminformation } from 'systeminformation';
  export function mem(): Promise<Systeminformation.MemData>;
}
declare module 'systeminformation/lib/cpu.js' {
  import type { Systeminformation } from 'systeminformation';
  export function cpuTemperature(): Promise<Systeminformation.CpuTemperatureData>;
}
