import { execFileSync } from 'node:child_process';
import { cpus, hostname, totalmem } from 'node:os';

/** The machine a bench ran on, as every report states it. */
export interface MachineInfo {
  hostname: string;
  cpuModel: string;
  cpus: number;
  memoryGb: number;
  node: string;
  platform: string;
  /** `redis-server --version` of the redis-server on PATH. */
  redis: string;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    hostname: hostname(),
    cpuModel: list[0]?.model ?? 'unknown',
    cpus: list.length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    redis: redisVersion(),
  };
}

function redisVersion(): string {
  try {
    return execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}
