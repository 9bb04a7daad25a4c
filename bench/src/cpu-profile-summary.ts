import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The part of V8's .cpuprofile format read here. */
interface CpuProfile {
  startTime: number;
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTimeEntry {
  name: string;
  selfMs: number;
  /** Share of the profile's busy time (idle excluded), in %. */
  percent: number;
}

/** The top self-time functions and where the time went by package, over a set of profiles. */
export interface CpuProfileSummary {
  dir: string;
  files: string[];
  /** The samples kept: those inside this window (epoch ms), when one was given. */
  window: { fromAt: number; toAt: number } | null;
  /** Sampled time, idle excluded, ms. */
  busyMs: number;
  idleMs: number;
  topFunctions: SelfTimeEntry[];
  byPackage: SelfTimeEntry[];
}

/** Where a script lives, in a few words: a package name, `node`, or the file. */
export function packageOf(url: string): string {
  if (url === '') return '(native/V8)';
  if (url.startsWith('node:')) return 'node';
  const pnpm = /node_modules\/\.pnpm\/(@[^+/]+\+[^@/]+|[^@/]+)@/.exec(url);
  if (pnpm?.[1]) return pnpm[1].replace('+', '/');
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (modules?.[1]) return modules[1];
  const ours = /packages\/([^/]+)\//.exec(url);
  if (ours?.[1]) return `@flow-dispatcher/${ours[1]}`;
  return url.replace(/^file:\/\//, '');
}

function frameName(frame: CpuProfile['nodes'][number]['callFrame']): string {
  const name = frame.functionName || '(anonymous)';
  if (frame.url === '') return name;
  const file = frame.url.replace(/^file:\/\//, '').replace(/^.*node_modules\/\.pnpm\/[^/]+\//, '');
  const short = file.split('/').slice(-3).join('/');
  return `${name} ${short}:${frame.lineNumber + 1}`;
}

/** The pid in a `node --cpu-prof` file name (CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile). */
export function profilePid(file: string): number | undefined {
  const pid = Number(file.split('.')[3]);
  return Number.isInteger(pid) ? pid : undefined;
}

/**
 * Self time per function and per package of the profiles in `dir` (pure but for reading them).
 * With a `window` and each process's start time (epoch ms, the profile starts with the process),
 * only the samples taken inside the window count: start-up, warm-up and shutdown are left out.
 */
export function summarizeCpuProfiles(
  dir: string,
  options: {
    window?: { fromAt: number; toAt: number };
    startedAtByPid?: ReadonlyMap<number, number>;
    top?: number;
  } = {},
): CpuProfileSummary[] {
  const top = options.top ?? 25;
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) return [];
  const window = options.window ?? null;
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  for (const file of files) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    const pid = profilePid(file);
    const startedAt = pid === undefined ? undefined : options.startedAtByPid?.get(pid);
    let sampleUs = profile.startTime;
    profile.samples.forEach((id, i) => {
      const node = nodes.get(id);
      const us = profile.timeDeltas[i] ?? 0;
      sampleUs += us;
      if (!node) return;
      if (window && startedAt !== undefined) {
        const at = startedAt + (sampleUs - profile.startTime) / 1000;
        if (at < window.fromAt || at > window.toAt) return;
      }
      const name = node.callFrame.functionName;
      if (name === '(idle)') {
        idleUs += us;
        return;
      }
      busyUs += us;
      const key = frameName(node.callFrame);
      byFunction.set(key, (byFunction.get(key) ?? 0) + us);
      const pkg = name.startsWith('(') ? name : packageOf(node.callFrame.url);
      byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
    });
  }
  const entries = (map: Map<string, number>, limit: number): SelfTimeEntry[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, us]) => ({
        name,
        selfMs: Math.round(us / 1000),
        percent: busyUs > 0 ? Math.round((us / busyUs) * 1000) / 10 : 0,
      }));
  return [
    {
      dir,
      files,
      window: window && options.startedAtByPid ? window : null,
      busyMs: Math.round(busyUs / 1000),
      idleMs: Math.round(idleUs / 1000),
      topFunctions: entries(byFunction, top),
      byPackage: entries(byPackage, 15),
    },
  ];
}
