import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliProcess } from './support/cli-process.js';
import { fleetEnv, startWorkerProcess } from './support/fleet.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';

/**
 * The producer as a backend outside this repository gets it: `pnpm pack` of
 * @flow-dispatcher/shared and @flow-dispatcher/producer, `npm install` of the two tarballs (no
 * workspace links, the peers ioredis and bullmq from the npm registry, unpatched) into a new
 * project, a TypeScript backend compiled by `tsc` under `moduleResolution` nodenext and bundler
 * (with every snippet of packages/producer/README.md), then run as ESM and as CommonJS against
 * real Redis, a `flow-dispatcher worker` process and the simulator.
 */

const REPO = join(import.meta.dirname, '..');
const FLOW = 'Welcome_SMS';
/** npm's cache, kept between runs (only the registry's tarballs go there). */
const NPM_CACHE = join(tmpdir(), 'fd-producer-package-npm-cache');
const rootManifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
};

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const ok = (result: Run, what: string) =>
  expect(result.code, `${what}:\n${result.stdout}\n${result.stderr}`).toBe(0);

/**
 * The backend: a keyed trigger and its repeat, a triggerMany, then each trigger's status until it
 * is settled; prints what the producer told it as one JSON line. The same text is compiled as ESM
 * (.ts) and as CommonJS (.cts, where the import becomes a require()).
 */
const BACKEND = `import { Producer, type TriggerReceipt, type TriggerStatus } from '@flow-dispatcher/producer';

async function main(): Promise<void> {
  const [flow = '', first = '', ...rest] = process.argv.slice(2);
  const producer = new Producer({
    redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    prefix: process.env.QUEUE_PREFIX ?? 'fd',
  });
  const keyed: TriggerReceipt = await producer.trigger(flow, { IndividualId: first }, { key: 'k-' + first });
  const repeat = await producer.trigger(flow, { IndividualId: first }, { key: 'k-' + first });
  const many = await producer.triggerMany(flow, rest.map((IndividualId) => ({ IndividualId })));
  const statuses: (TriggerStatus | undefined)[] = [];
  const deadline = Date.now() + 60_000;
  for (const { id } of [keyed, ...many]) {
    let status = await producer.getTrigger(id);
    while ((status?.state === 'queued' || status?.state === 'dispatching' || status?.state === 'retrying') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = await producer.getTrigger(id);
    }
    statuses.push(status);
  }
  await producer.close();
  console.log(JSON.stringify({ keyed, repeat, many, statuses }));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
`;

/** The \`\`\`ts blocks of the producer's README. */
function readmeSnippets(): string[] {
  const readme = readFileSync(join(REPO, 'packages/producer/README.md'), 'utf8');
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
}

function manifestOf(tarball: string, cwd: string): Promise<Run> {
  return run('tar', ['-xzf', tarball, '-O', 'package/package.json'], { cwd });
}

describe('@flow-dispatcher/producer as an npm package', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fd-producer-package-'));
  const packs = join(dir, 'packs');
  const project = join(dir, 'backend');
  let tarballs: { shared: string; producer: string };
  let sim: Simulator | undefined;
  let worker: CliProcess | undefined;
  let prefix: string;

  beforeAll(async () => {
    mkdirSync(packs);
    for (const name of ['shared', 'producer']) {
      ok(
        await run('pnpm', ['pack', '--pack-destination', packs], {
          cwd: join(REPO, 'packages', name),
        }),
        `pnpm pack ${name}`,
      );
    }
    const files = readdirSync(packs);
    const find = (name: string) => {
      const file = files.find((f) => f.startsWith(`flow-dispatcher-${name}-`));
      if (!file) throw new Error(`no tarball of ${name} in ${files.join(', ')}`);
      return join(packs, file);
    };
    tarballs = { shared: find('shared'), producer: find('producer') };
  }, 120_000);

  afterAll(async () => {
    await worker?.kill('SIGKILL');
    await sim?.close();
    if (prefix) await deletePrefix(TEST_REDIS_URL, prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  it('the packed package.json files have versions, peers and exports, and no workspace links', async () => {
    const shared = JSON.parse((await manifestOf(tarballs.shared, dir)).stdout);
    const producer = JSON.parse((await manifestOf(tarballs.producer, dir)).stdout);
    for (const manifest of [shared, producer]) {
      expect(JSON.stringify(manifest)).not.toContain('workspace:');
      expect(manifest.private).toBeUndefined();
      expect(manifest.publishConfig).toEqual({ access: 'public' });
      expect(manifest.peerDependencies).toEqual({ bullmq: '^6.7.0', ioredis: '^5.11.1' });
      expect(manifest.dependencies.ioredis).toBeUndefined();
      expect(manifest.dependencies.bullmq).toBeUndefined();
      expect(manifest.exports['.']).toEqual({
        types: './dist/index.d.ts',
        import: './dist/index.js',
        require: './dist/index.js',
        default: './dist/index.js',
      });
      expect(manifest).toMatchObject({ main: './dist/index.js', types: './dist/index.d.ts' });
    }
    // Released together: the producer depends on exactly its release's shared.
    expect(producer.dependencies).toEqual({ '@flow-dispatcher/shared': shared.version });
    expect(producer.version).toBe(shared.version);
    const listed = await run('tar', ['-tzf', tarballs.producer], { cwd: dir });
    expect(listed.stdout).toContain('package/dist/index.d.ts');
    expect(listed.stdout).toContain('package/README.md');
    expect(listed.stdout).not.toMatch(/\.test\.|tsbuildinfo/);
  });

  it('installs with npm into a new project, compiles under nodenext and bundler, and delivers as ESM and CommonJS', async () => {
    mkdirSync(join(project, 'src'), { recursive: true });
    mkdirSync(join(project, 'snippets'));
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'backend', private: true, type: 'module' }),
    );
    // No workspace, no pnpm: npm, the tarballs, and the registry for everything else.
    const install = await run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--cache',
        NPM_CACHE,
        tarballs.shared,
        tarballs.producer,
        `typescript@${rootManifest.devDependencies.typescript}`,
        `@types/node@${rootManifest.devDependencies['@types/node']}`,
      ],
      { cwd: project },
    );
    ok(install, 'npm install');
    const manifest = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8'));
    expect(manifest.dependencies['@flow-dispatcher/producer']).toMatch(/^file:/);

    // The installed tree: no HTTP server, admin UI or Salesforce client; npm installed the peers.
    const ls = await run('npm', ['ls', '--all', '--json'], { cwd: project });
    const names = new Set<string>();
    const walk = (deps: Record<string, { dependencies?: object }> | undefined) => {
      for (const [name, dep] of Object.entries(deps ?? {})) {
        names.add(name);
        walk(dep.dependencies as Record<string, { dependencies?: object }>);
      }
    };
    walk(JSON.parse(ls.stdout).dependencies);
    expect([...names]).toEqual(expect.arrayContaining(['ioredis', 'bullmq', 'pino']));
    const forbidden = [...names].filter((n) =>
      /^(fastify|undici|@bull-board\/.*|@flow-dispatcher\/(ingest|salesforce|worker|cli)|zod|jsforce)$/.test(
        n,
      ),
    );
    expect(forbidden).toEqual([]);
    // The stock ioredis: the repository's prototype patch (patches/) is not there.
    const stock = await run(
      process.execPath,
      [
        '-e',
        "const d = Object.getOwnPropertyDescriptor(require('ioredis').Pipeline.prototype, 'length'); console.log(typeof d?.get)",
      ],
      { cwd: project },
    );
    expect(stock.stdout.trim()).toBe('undefined');

    writeFileSync(join(project, 'src/backend.ts'), BACKEND);
    writeFileSync(join(project, 'src/backend-cjs.cts'), BACKEND);
    const snippets = readmeSnippets();
    expect(snippets.length).toBeGreaterThanOrEqual(8);
    snippets.forEach((text, i) => {
      writeFileSync(join(project, `snippets/readme-${i}.ts`), text);
    });
    const common = {
      rootDir: '.',
      strict: true,
      target: 'ES2022',
      types: ['node'],
      skipLibCheck: false,
    };
    writeFileSync(
      join(project, 'tsconfig.nodenext.json'),
      JSON.stringify({
        compilerOptions: {
          ...common,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          outDir: 'out-nodenext',
        },
        include: ['src', 'snippets'],
      }),
    );
    writeFileSync(
      join(project, 'tsconfig.bundler.json'),
      JSON.stringify({
        compilerOptions: {
          ...common,
          module: 'esnext',
          moduleResolution: 'bundler',
          outDir: 'out-bundler',
        },
        include: ['src/backend.ts', 'snippets'],
      }),
    );
    const tsc = join(project, 'node_modules/.bin/tsc');
    for (const config of ['tsconfig.nodenext.json', 'tsconfig.bundler.json']) {
      const compiled = await run(tsc, ['-p', config], { cwd: project });
      expect(compiled.stdout + compiled.stderr, `tsc -p ${config}`).toBe('');
      ok(compiled, `tsc -p ${config}`);
    }
    // The .cts compiled to CommonJS: the package is loaded with require().
    const cjs = readFileSync(join(project, 'out-nodenext/src/backend-cjs.cjs'), 'utf8');
    expect(cjs).toContain('require("@flow-dispatcher/producer")');

    prefix = uniquePrefix('package');
    sim = await startSimulator({
      port: 0,
      latency: { kind: 'fixed', ms: 5 },
      recordInputs: true,
    });
    worker = await startWorkerProcess(
      fleetEnv({ redisUrl: TEST_REDIS_URL, prefix, simulatorUrl: sim.url }),
    );
    const runs = [
      { name: 'esm-nodenext', file: 'out-nodenext/src/backend.js' },
      { name: 'esm-bundler', file: 'out-bundler/src/backend.js' },
    ];
    // CommonJS loads the package through require(esm): Node 20.19+ and 22.12+, the package's
    // engines. The repository itself runs on Node 20.18 too, where only the ESM runs apply.
    const requireEsm = (process.features as { require_module?: boolean }).require_module === true;
    if (requireEsm) runs.push({ name: 'cjs', file: 'out-nodenext/src/backend-cjs.cjs' });
    else console.warn(`Node ${process.version} has no require(esm): the CommonJS run is left out`);
    for (const [r, { name, file }] of runs.entries()) {
      const people = Array.from({ length: 4 }, (_, i) => `0PKpk${r}${String(i).padStart(12, '0')}`);
      const backend = await run(process.execPath, [file, FLOW, ...people], {
        cwd: project,
        env: { REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix },
      });
      ok(backend, `${name} backend`);
      const told = JSON.parse(backend.stdout) as {
        keyed: { id: string; key: string | null; duplicate: boolean };
        repeat: { id: string; key: string | null; duplicate: boolean };
        many: { id: string; duplicate: boolean }[];
        statuses: ({ id: string; flow: string; state: string; result: unknown } | null)[];
      };
      // What the producer told the backend: receipts, the repeated key, settled statuses.
      expect(told.keyed).toMatchObject({ key: `k-${people[0]}`, duplicate: false });
      expect(told.repeat).toEqual({ ...told.keyed, duplicate: true });
      expect(told.many).toHaveLength(3);
      expect(
        told.statuses.map((s) => [s?.id, s?.flow, s?.state]),
        `${name}: ${backend.stdout}`,
      ).toEqual([told.keyed, ...told.many].map((receipt) => [receipt.id, FLOW, 'succeeded']));
      for (const status of told.statuses) {
        expect(status?.result, name).toMatchObject({ Flow__InterviewGuid: expect.any(String) });
      }
      // What reached Salesforce: each person once, in calls to the flow.
      const deliveries = sim.deliveries();
      for (const id of people) expect(deliveries.get(id), `${name} ${id}`).toBe(1);
      const called = sim
        .calls()
        .filter((call) => call.individualIds?.some((id) => people.includes(id)));
      expect(called.every((call) => call.flow === FLOW && call.status === 200)).toBe(true);
      expect(called.flatMap((call) => call.individualIds ?? []).sort()).toEqual([...people].sort());
    }
  }, 600_000);
});
