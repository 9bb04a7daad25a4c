import { readFileSync, writeFileSync } from 'node:fs';

/**
 * What the kernel says about one process: CPU time used so far and the peak resident set size.
 * Read from /proc (Linux); elsewhere every figure is `null`, and the report says "n/a".
 *
 * Reading /proc needs nothing from the process itself, so the same method measures the CLI
 * worker, the simulator, redis-server and the bench's own children alike.
 */

/** Kernel clock ticks per second for /proc/<pid>/stat (USER_HZ, 100 on every Linux we run on). */
const TICKS_PER_SECOND = 100;

/** CPU time (user + system) of `pid` so far, in ms; null when it cannot be read. */
export function readCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
    return ((utime + stime) * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/**
 * The machine's CPU time so far over all cores, in ms, from the first line of /proc/stat: `busy`
 * (neither idle nor waiting for I/O; steal not in it) and `steal` (time the hypervisor gave this
 * VM's vCPUs to other guests: a busy host slows every process here at once); null elsewhere.
 */
export function readMachineCpuMs(): { busy: number; steal: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    // cpu user nice system idle iowait irq softirq steal … (guest time is inside user)
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    const sum = (...at: number[]) => at.reduce((total, i) => total + (ticks[i] ?? Number.NaN), 0);
    const busy = sum(0, 1, 2, 5, 6);
    const steal = sum(7);
    if (!Number.isFinite(busy) || !Number.isFinite(steal)) return null;
    return { busy: (busy * 1000) / TICKS_PER_SECOND, steal: (steal * 1000) / TICKS_PER_SECOND };
  } catch {
    return null;
  }
}

/** Peak resident set size (VmHWM) of `pid` since it started or since `resetPeakRss`, in MB. */
export function readPeakRssMb(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
    return match?.[1] ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Restarts the peak RSS of `pid` from its current RSS (a process shared by several runs). */
export function resetPeakRss(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // Not Linux, or not allowed: the peak then covers the process's whole life (said in README).
  }
}

/** One process taking part in a run, by role. */
export interface ProbedProcess {
  /** What it does in the run: `producer`, `worker`, `consumer`, `simulator`, `redis`, … */
  role: string;
  pid: number;
}

/** CPU and peak RSS of one process over a measured window. */
export interface ProcessUsage {
  role: string;
  pid: number;
  /** CPU ms (user + system) spent inside the window. */
  cpuMs: number | null;
  /** Peak RSS since the window opened (or since the process started, see README), in MB. */
  peakRssMb: number | null;
}

/** CPU readings of a set of processes at the start of a window. */
export class UsageWindow {
  readonly #start = new Map<number, number | null>();

  constructor(readonly processes: readonly ProbedProcess[]) {
    for (const p of processes) {
      resetPeakRss(p.pid);
      this.#start.set(p.pid, readCpuMs(p.pid));
    }
  }

  /** Closes the window: CPU spent since it opened and the peak RSS, per process. */
  close(): ProcessUsage[] {
    return this.processes.map((p) => {
      const start = this.#start.get(p.pid) ?? null;
      const end = readCpuMs(p.pid);
      return {
        role: p.role,
        pid: p.pid,
        cpuMs: start === null || end === null ? null : end - start,
        peakRssMb: readPeakRssMb(p.pid),
      };
    });
  }
}
