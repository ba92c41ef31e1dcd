// The one clock every timeout uses: CLOCK_MONOTONIC in milliseconds. It never jumps with NTP
// or a wrong RTC-less boot date (a Pi has no RTC), and it is system-wide, so the lab's
// harness and every daemon read the same clock.
export const monotonicNow = (): number => Number(process.hrtime.bigint()) / 1e6;
