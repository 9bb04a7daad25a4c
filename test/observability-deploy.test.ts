import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { type Config, loadConfig } from '@flow-dispatcher/shared';
import * as keda from '@kubernetes-models/keda/keda.sh/v1alpha1';
import * as monitoring from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import * as apps from 'kubernetes-models/apps/v1';
import * as autoscaling from 'kubernetes-models/autoscaling/v2';
import * as networking from 'kubernetes-models/networking.k8s.io/v1';
import * as policy from 'kubernetes-models/policy/v1';
import * as core from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import {
  DASHBOARD_FILE,
  dashboardPanels,
  REPO,
  RULE_TESTS_FILE,
  RULES_FILE,
  readDashboard,
  readRuleGroups,
  run,
} from './observability-support.js';
import { CliProcess } from './support/cli-process.js';
import { mebibytes } from './support/k8s.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';
import { findTool, requireTool } from './support/tools.js';

/**
 * The deploy/ files, checked by the tools that consume them: promtool for the rules, kustomize
 * (kubectl's) to render Kubernetes, JSON schemas for every rendered object, a Dockerfile linter,
 * Compose's own `config`, and the invariants between them (ports, job names, timeouts).
 */

const OVERLAYS = ['dev', 'production', 'production-hpa'] as const;

// The tools that consume deploy/: without one, the tests that need it are skipped with the reason
// printed; under CI=true a missing one fails the file (.ci/run installs them).
const promtool = requireTool('promtool', { install: 'apt-get install prometheus' });
// `docker compose` (the v2 plugin) or Debian's `docker-compose`; neither needs an engine.
const dockerPlugin =
  findTool('docker') !== undefined &&
  spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0;
const composeTool = dockerPlugin
  ? { path: 'docker' }
  : requireTool('docker-compose', { install: 'apt-get install docker-compose' });
const compose = {
  path: composeTool.path,
  command: dockerPlugin ? ['docker', 'compose'] : [composeTool.path ?? 'docker-compose'],
};
const kubectl = requireTool('kubectl', {
  install: 'install kubectl >= 1.27, https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/',
});

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are checked against schemas below
  spec?: any;
  data?: Record<string, string>;
}

/**
 * Schemas by apiVersion: kubernetes-models (generated from the Kubernetes OpenAPI document) and
 * its KEDA and prometheus-operator packages (generated from those projects' CRDs).
 */
const MODELS: Record<string, Record<string, unknown>> = {
  v1: core,
  'apps/v1': apps,
  'policy/v1': policy,
  'autoscaling/v2': autoscaling,
  'networking.k8s.io/v1': networking,
  'keda.sh/v1alpha1': keda,
  'monitoring.coreos.com/v1': monitoring,
};

/** Where the TypeScript interface of a model lives, for the unknown-field check. */
const TYPE_MODULES: Record<string, string> = {
  v1: 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'policy/v1': 'kubernetes-models/policy/v1',
  'autoscaling/v2': 'kubernetes-models/autoscaling/v2',
  'networking.k8s.io/v1': 'kubernetes-models/networking.k8s.io/v1',
  'keda.sh/v1alpha1': '@kubernetes-models/keda/keda.sh/v1alpha1',
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
};

async function render(overlay: string): Promise<K8sObject[]> {
  const result = await run(kubectl.path ?? 'kubectl', [
    'kustomize',
    `deploy/k8s/overlays/${overlay}`,
  ]);
  expect(result.stderr, `kubectl kustomize ${overlay}`).toBe('');
  expect(result.code).toBe(0);
  return parseAllDocuments(result.stdout).map((doc) => doc.toJS() as K8sObject);
}

function schemaErrors(object: K8sObject): string | undefined {
  const Model = MODELS[object.apiVersion]?.[object.kind] as
    | (new (
        data: unknown,
      ) => { validate(): void })
    | undefined;
  if (!Model) return `no schema for ${object.apiVersion} ${object.kind}`;
  try {
    new Model(object).validate();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const byKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
const named = (objects: K8sObject[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
};

describe('deploy/prometheus', () => {
  it('rules pass `promtool check rules` and their `promtool test rules` unit tests', async (ctx) => {
    if (!promtool.path) return ctx.skip(promtool.reason);
    const check = await run(promtool.path, ['check', 'rules', RULES_FILE]);
    expect(check.stdout + check.stderr).toContain('SUCCESS');
    expect(check.code).toBe(0);
    const test = await run(promtool.path, ['test', 'rules', RULE_TESTS_FILE]);
    expect(test.stdout + test.stderr).toContain('SUCCESS');
    expect(test.code).toBe(0);
  });

  it('every alert has a promtool test that fires it and a runbook section', () => {
    const alerts = readRuleGroups()
      .flatMap((group) => group.rules)
      .flatMap((rule) => (rule.alert ? [rule.alert] : []));
    const tests = parse(readFileSync(RULE_TESTS_FILE, 'utf8')) as {
      tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const fired = new Set(
      tests.tests.flatMap((t) =>
        (t.alert_rule_test ?? []).filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname),
      ),
    );
    const runbook = readFileSync(join(REPO, 'docs/operations.md'), 'utf8');
    expect(alerts.length).toBeGreaterThanOrEqual(7);
    for (const alert of alerts) {
      expect(fired, `a promtool test fires ${alert}`).toContain(alert);
      expect(runbook, `docs/operations.md has a section for ${alert}`).toContain(`### ${alert}`);
    }
  });

  it('the Compose Prometheus configuration is valid and scrapes the job names the rules use', async (ctx) => {
    if (!promtool.path) return ctx.skip(promtool.reason);
    const file = join(REPO, 'deploy/prometheus/prometheus.yml');
    const check = await run(promtool.path, ['check', 'config', file]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const config = parse(readFileSync(file, 'utf8')) as { scrape_configs: { job_name: string }[] };
    const jobs = config.scrape_configs.map((job) => job.job_name);
    expect(jobs).toEqual(
      expect.arrayContaining(['flow-dispatcher-worker', 'flow-dispatcher-ingest']),
    );
  });
});

describe('deploy/k8s', () => {
  it.skipIf(!kubectl.path).each(OVERLAYS)(
    'overlay %s renders, and every object validates against its schema',
    async (overlay) => {
      const objects = await render(overlay);
      expect(objects.length).toBeGreaterThan(5);
      const problems = objects.flatMap((object) => {
        const problem = schemaErrors(object);
        return problem ? [`${object.kind}/${object.metadata.name}: ${problem}`] : [];
      });
      expect(problems).toEqual([]);
    },
  );

  it('rendered objects have no unknown fields (TypeScript excess-property check against the same models)', async (ctx) => {
    if (!kubectl.path) return ctx.skip(kubectl.reason);
    // The JSON schemas accept unknown fields (Kubernetes prunes them silently), so a typo such as
    // `readinesProbe` would pass them; the models' TypeScript interfaces do not.
    // Inside the repository, so that the models resolve from its node_modules; a folder of its
    // own, so that two runs of the suite at once (CI: Node 20 and Node 24) do not share it.
    mkdirSync(join(REPO, 'test-artifacts'), { recursive: true });
    const dir = mkdtempSync(join(REPO, 'test-artifacts/k8s-types-'));
    const imports = new Set<string>();
    const lines: string[] = [];
    for (const overlay of OVERLAYS) {
      for (const [i, object] of (await render(overlay)).entries()) {
        const module = TYPE_MODULES[object.apiVersion];
        expect(module, `${object.apiVersion} ${object.kind}`).toBeDefined();
        const type = `${object.kind}_${object.apiVersion.replace(/\W/g, '_')}`;
        imports.add(`import type { I${object.kind} as ${type} } from '${module}/${object.kind}';`);
        lines.push(
          `// ${overlay}: ${object.kind}/${object.metadata.name}`,
          `export const o_${overlay.replace(/\W/g, '_')}_${i} = ${JSON.stringify(object, null, 2)} satisfies ${type};`,
        );
      }
    }
    writeFileSync(join(dir, 'manifests.ts'), [...imports, ...lines].join('\n'));
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2023',
          skipLibCheck: true,
          types: [],
        },
        files: ['manifests.ts'],
      }),
    );
    const tsc = join(
      dirname(createRequire(import.meta.url).resolve('typescript/package.json')),
      'bin/tsc',
    );
    const result = await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')]);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('every runbook_url is the documented base + #alert, and the overlay snippet of docs/operations.md rewrites the base', async () => {
    const docs = readFileSync(join(REPO, 'docs/operations.md'), 'utf8');
    const section = docs.slice(docs.indexOf('### Runbook links'));
    const base = /defaults to\s+`(https:[^`]+)`/.exec(section)?.[1];
    const snippet = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(base).toBeDefined();
    expect(snippet).toBeDefined();
    for (const rule of readRuleGroups().flatMap((group) => group.rules)) {
      if (!rule.alert) continue;
      expect(rule.annotations?.runbook_url, rule.alert).toBe(`${base}#${rule.alert.toLowerCase()}`);
    }
    const dir = mkdtempSync(join(tmpdir(), 'fd-runbook-'));
    try {
      const overlay = parse(snippet as string) as Record<string, unknown>;
      writeFileSync(
        join(dir, 'kustomization.yaml'),
        JSON.stringify({
          apiVersion: 'kustomize.config.k8s.io/v1beta1',
          kind: 'Kustomization',
          components: [relative(dir, join(REPO, 'deploy/k8s/components/monitoring'))],
          ...overlay,
        }),
      );
      const result = await run('kubectl', ['kustomize', dir]);
      expect(result.stderr).toBe('');
      const rule = parseAllDocuments(result.stdout)
        .map((doc) => doc.toJS() as K8sObject)
        .find((o) => o.kind === 'PrometheusRule');
      const urls = (
        (rule?.spec.groups ?? []) as {
          rules: { alert?: string; annotations?: { runbook_url?: string } }[];
        }[]
      )
        .flatMap((group) => group.rules)
        .filter((r) => r.alert)
        .map((r) => [r.alert, r.annotations?.runbook_url]);
      expect(urls.length).toBeGreaterThanOrEqual(10);
      for (const [alert, url] of urls)
        expect(url).toBe(
          `https://wiki.example.com/runbooks/flow-dispatcher#${alert?.toLowerCase()}`,
        );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the PrometheusRule carries exactly the rules of deploy/prometheus', () => {
    const rule = parse(
      readFileSync(join(REPO, 'deploy/k8s/components/monitoring/prometheusrule.yaml'), 'utf8'),
    ) as K8sObject;
    expect(rule.spec.groups).toEqual(readRuleGroups());
  });

  it.skipIf(!kubectl.path).each(OVERLAYS)(
    'overlay %s: probes, resources, non-root, grace period and configuration',
    async (overlay) => {
      const objects = await render(overlay);
      const configMap = named(objects, 'ConfigMap', 'flow-dispatcher');
      const env = configMap.data ?? {};
      // The ConfigMap, with the Secret's keys, is a configuration flow-dispatcher accepts.
      const config: Config = loadConfig({
        ...env,
        REDIS_URL: 'redis://:password@redis:6379',
        SF_CLIENT_ID: 'client-id',
        SF_CLIENT_SECRET: 'client-secret',
        INGEST_TOKENS: 'a-token-of-sixteen-chars,another-token-of-16',
      });
      const stopMs =
        config.dispatch.lingerMs +
        config.salesforce.connectTimeoutMs +
        config.salesforce.requestTimeoutMs;

      for (const name of ['flow-dispatcher-worker', 'flow-dispatcher-ingest']) {
        const deployment = named(objects, 'Deployment', name);
        const pod = deployment.spec.template.spec;
        const [container] = pod.containers;
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
        expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
        expect(container.securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        expect(container.resources.requests).toMatchObject({
          cpu: expect.anything(),
          memory: expect.anything(),
        });
        expect(container.resources.limits.memory).toBeDefined();
        // Node's heap fits the container: old space, the young generation (two semi-spaces, set:
        // Node 24's default is 64 MB each, four times Node 20's) and 96 MB for code, stacks and
        // buffers stay within the memory limit. A flag left out makes this NaN, and fail.
        const nodeOptions: string =
          container.env.find((e: { name: string }) => e.name === 'NODE_OPTIONS')?.value ?? '';
        const flagMb = (flag: string) =>
          Number(new RegExp(`--${flag}=(\\d+)`).exec(nodeOptions)?.[1]);
        expect(
          flagMb('max-old-space-size') + 2 * flagMb('max-semi-space-size') + 96,
          `${overlay} ${name}: NODE_OPTIONS "${nodeOptions}"`,
        ).toBeLessThanOrEqual(mebibytes(container.resources.limits.memory));
        expect(container.livenessProbe.httpGet.path).toBe('/healthz');
        expect(container.readinessProbe.httpGet.path).toBe('/readyz');
        const port = container.ports.find(
          (p: { name: string }) => p.name === container.readinessProbe.httpGet.port,
        );
        const expectedPort = name.endsWith('worker') ? config.metrics.port : config.ingest.port;
        expect(port?.containerPort).toBe(expectedPort);
        // Every secret the pod reads comes from the Secret `flow-dispatcher`.
        for (const variable of ['REDIS_URL', 'SF_CLIENT_SECRET']) {
          const entry = container.env.find((e: { name: string }) => e.name === variable);
          expect(entry?.valueFrom?.secretKeyRef, `${name} ${variable}`).toMatchObject({
            key: variable,
          });
        }
        expect(named(objects, 'PodDisruptionBudget', name).spec.selector.matchLabels).toEqual(
          deployment.spec.selector.matchLabels,
        );
      }
      const worker = named(objects, 'Deployment', 'flow-dispatcher-worker').spec.template.spec;
      expect(worker.terminationGracePeriodSeconds * 1000).toBeGreaterThanOrEqual(stopMs + 15_000);
      const ingest = named(objects, 'Deployment', 'flow-dispatcher-ingest').spec.template.spec;
      expect(
        ingest.containers[0].env.find((e: { name: string }) => e.name === 'INGEST_TOKENS'),
      ).toMatchObject({
        valueFrom: { secretKeyRef: { name: expect.any(String), key: 'INGEST_TOKENS' } },
      });

      const scalers = [
        ...byKind(objects, 'ScaledObject'),
        ...byKind(objects, 'HorizontalPodAutoscaler'),
      ];
      if (overlay === 'dev') {
        expect(scalers).toEqual([]);
        // The dev Secret provides every key the pods read.
        const secret = byKind(objects, 'Secret')[0];
        expect(Object.keys(secret?.data ?? {}).sort()).toEqual(
          ['INGEST_TOKENS', 'REDIS_URL', 'SF_CLIENT_ID', 'SF_CLIENT_SECRET'].sort(),
        );
        return;
      }
      expect(scalers).toHaveLength(1);
      expect(scalers[0]?.spec.scaleTargetRef.name).toBe('flow-dispatcher-worker');
      if (overlay === 'production') {
        const trigger = scalers[0]?.spec.triggers[0];
        expect(trigger.type).toBe('prometheus');
        expect(trigger.metadata.query).toContain('flow_dispatcher_backlog_triggers');
      }
      // ServiceMonitors: the scrape job is the Service's name, which the rules select on.
      for (const monitor of byKind(objects, 'ServiceMonitor')) {
        const service = named(objects, 'Service', monitor.metadata.name);
        expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
        expect(service.spec.ports.map((p: { name: string }) => p.name)).toContain(
          monitor.spec.endpoints[0].port,
        );
      }
      expect(
        byKind(objects, 'ServiceMonitor')
          .map((m) => m.metadata.name)
          .sort(),
      ).toEqual(['flow-dispatcher-ingest', 'flow-dispatcher-worker']);
    },
  );
});

describe('deploy/docker', () => {
  const dockerfile = join(REPO, 'deploy/docker/Dockerfile');
  /** The runtime image's default NODE_OPTIONS (its `ENV NODE_OPTIONS="..."` line). */
  const imageNodeOptions = (): string =>
    /^ENV NODE_OPTIONS="([^"]*)"$/m.exec(readFileSync(dockerfile, 'utf8'))?.[1] ?? '';

  it('the Dockerfile passes dockerfile-utils lint and builds the image the way the issue asks', async () => {
    const bin = join(
      dirname(createRequire(import.meta.url).resolve('dockerfile-utils/package.json')),
      'bin/dockerfile-utils',
    );
    const lint = await run(process.execPath, [bin, 'lint', dockerfile]);
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.code).toBe(0);

    const text = readFileSync(dockerfile, 'utf8');
    expect(text).toMatch(/^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
    expect(text).toContain('pnpm@12.4.2');
    expect(text).toContain('pnpm install --frozen-lockfile');
    expect(text).toMatch(/pnpm --filter @flow-dispatcher\/cli deploy --prod/);
    expect(text).toMatch(/apt-get install .*tini/);
    expect(imageNodeOptions()).toContain('--max-semi-space-size=16');
    expect(text).toContain('ENTRYPOINT ["/usr/bin/tini", "--", "flow-dispatcher"]');
    expect(text).toContain('CMD ["worker"]');
    // Which release runs: OCI labels from build arguments, and the revision every process
    // exports in flow_dispatcher_build_info.
    const runtime = text.slice(text.indexOf(' AS runtime'));
    for (const label of ['version', 'revision', 'source'])
      expect(runtime).toMatch(
        new RegExp(`org\\.opencontainers\\.image\\.${label}="\\$\\{[A-Z]+\\}"`),
      );
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile's variable syntax
    expect(runtime).toContain('ENV FLOW_DISPATCHER_REVISION="${REVISION}"');
    // The last USER is numeric and not root.
    const users = [...text.matchAll(/^USER (\S+)$/gm)].map((m) => m[1]);
    expect(users.at(-1)).toMatch(/^[1-9]\d*(:\d+)?$/);
  });

  it("the Dockerfile's dependency layer copies every file `pnpm fetch` reads", async () => {
    // The build stage's COPY lines before `pnpm fetch`, replayed into an empty folder (the store
    // is this checkout's, hence --offline): a file the lockfile names but the layer leaves out,
    // such as a dependency patch, fails the image build at this step.
    const text = readFileSync(dockerfile, 'utf8');
    const layer = text.slice(text.indexOf('AS build'), text.indexOf('pnpm fetch'));
    const copies = [...layer.matchAll(/^COPY (.+) (\S+)$/gm)].map((m) => ({
      sources: (m[1] ?? '').split(/\s+/),
      dest: m[2] ?? '',
    }));
    expect(copies.flatMap((copy) => copy.sources)).toContain('pnpm-lock.yaml');
    const dir = mkdtempSync(join(tmpdir(), 'fd-fetch-'));
    try {
      for (const { sources, dest } of copies) {
        for (const source of sources) {
          const target = dest.endsWith('/') ? join(dir, dest, source) : join(dir, dest);
          cpSync(join(REPO, source), target, { recursive: true });
        }
      }
      const fetched = await run('pnpm', ['fetch', '--offline'], { cwd: dir });
      expect(fetched.code, fetched.stdout + fetched.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the production install the image copies runs ingest with the admin UI, and carries no TypeScript', async () => {
    // The Dockerfile's build stage, without Docker: the CLI with production dependencies only.
    const out = mkdtempSync(join(tmpdir(), 'fd-deploy-'));
    const prefix = uniquePrefix('deploy-prod');
    let ingest: CliProcess | undefined;
    try {
      const deployed = await run('pnpm', [
        '--filter',
        '@flow-dispatcher/cli',
        'deploy',
        '--prod',
        '--prefer-offline',
        out,
      ]);
      expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0);
      const store = readdirSync(join(out, 'node_modules/.pnpm'));
      expect(store.some((name) => name.startsWith('bullmq@'))).toBe(true);
      expect(store.filter((name) => /typescript|vitest|@biomejs/.test(name))).toEqual([]);
      // patches/ioredis@5.11.1.patch is applied: Pipeline's `length` is the prototype's getter.
      const patched = await run(
        process.execPath,
        [
          '-e',
          "const d = Object.getOwnPropertyDescriptor(require('ioredis').Pipeline.prototype, 'length'); process.exit(typeof d?.get === 'function' ? 0 : 1)",
        ],
        { cwd: out },
      );
      expect(patched.code, patched.stderr).toBe(0);

      const token = 'deploy-token-0123456789';
      const adminToken = 'deploy-admin-token-0123456789';
      ingest = new CliProcess(
        ['ingest'],
        {
          REDIS_URL: TEST_REDIS_URL,
          QUEUE_PREFIX: prefix,
          INGEST_PORT: '0',
          INGEST_TOKENS: token,
          ADMIN_TOKENS: adminToken,
          ADMIN_UI: 'on',
          // As the image runs it: a flag Node refuses in NODE_OPTIONS would stop it here.
          NODE_OPTIONS: imageNodeOptions(),
        },
        join(out, 'dist/bin.js'),
      );
      const { port } = JSON.parse(await ingest.waitForLine(/"msg":"ingest ready"/)) as {
        port: number;
      };
      const url = `http://127.0.0.1:${port}`;
      const accepted = await fetch(`${url}/v1/flows/Welcome_SMS/triggers`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ triggers: [{ input: { IndividualId: '0PKdeploy000000001' } }] }),
      });
      expect(accepted.status).toBe(202);
      const login = await fetch(`${url}/admin/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: adminToken }).toString(),
        redirect: 'manual',
      });
      expect(login.status).toBe(303);
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      const queues = await fetch(`${url}/admin/api/queues`, { headers: { cookie } });
      expect(queues.status).toBe(200);
      expect(JSON.stringify(await queues.json())).toContain('Welcome_SMS');
      const page = await fetch(`${url}/admin/`, { headers: { cookie } });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<html');
    } finally {
      await ingest?.kill('SIGKILL');
      rmSync(out, { recursive: true, force: true });
      await deletePrefix(TEST_REDIS_URL, prefix);
    }
  });

  const composeFile = join(REPO, 'deploy/docker-compose.yml');

  it('docker-compose.yml wires Redis with AOF, the simulator, ingest, worker, Prometheus and Grafana', () => {
    // biome-ignore lint/suspicious/noExplicitAny: a parsed Compose file
    const file = parse(readFileSync(composeFile, 'utf8'), { merge: true }) as any;
    expect(Object.keys(file.services).sort()).toEqual(
      ['grafana', 'ingest', 'prometheus', 'redis', 'simulator', 'worker'].sort(),
    );
    const redis = file.services.redis.command.join(' ');
    expect(redis).toContain('--appendonly yes');
    expect(redis).toContain('--appendfsync everysec');
    expect(redis).toContain('--maxmemory-policy noeviction');
    expect(file.services.simulator.command.join(' ')).toContain(
      'simulator --host 0.0.0.0 --port 8787 --public-url http://simulator:8787',
    );
    expect(file.services.worker.command).toEqual(['worker']);
    expect(file.services.ingest.command).toEqual(['ingest']);
    expect(file.services.worker.environment.METRICS_PORT).toBe('9464');
    expect(file.services.ingest.environment.INGEST_PORT).toBe('8080');
    expect(file.services.worker.stop_grace_period).toBe('90s');
    const mounts: string[] = [
      ...file.services.prometheus.volumes,
      ...file.services.grafana.volumes,
    ];
    expect(mounts).toEqual(
      expect.arrayContaining([
        './prometheus/rules:/etc/prometheus/rules:ro',
        './grafana/provisioning:/etc/grafana/provisioning:ro',
        './grafana/dashboards:/var/lib/grafana/dashboards/flow-dispatcher:ro',
      ]),
    );
    // The environment Compose gives the worker is a configuration flow-dispatcher accepts.
    const env = Object.fromEntries(
      Object.entries(file.services.worker.environment as Record<string, string>).map(([k, v]) => [
        k,
        String(v).replace(/^\$\{[A-Z_]+:-(.*)\}$/, '$1'),
      ]),
    );
    expect(loadConfig(env).salesforce.auth).toMatchObject({ loginUrl: 'http://simulator:8787' });
  });

  it.skipIf(!compose.path)('docker compose config accepts the file', async () => {
    const [bin = 'docker', ...args] = compose.command;
    const result = await run(bin, [...args, '-f', composeFile, 'config', '--quiet']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});

describe('deploy/grafana', () => {
  it('the dashboard has every panel the issue lists, each on the datasource variable', () => {
    const dashboard = readDashboard();
    const panels = dashboardPanels(dashboard);
    const ids = panels.map((p) => (p as unknown as { id: number }).id);
    expect(new Set(ids).size).toBe(ids.length);
    const titles = panels.map((p) => p.title);
    for (const title of [
      'Triggers/s by outcome',
      'Enqueue → answer latency',
      'Inputs per call',
      'Salesforce calls/s by status and error code',
      'API usage against the budget',
      'Concurrency: limit vs calls in flight',
      'Backlog by state (chunk jobs)',
      'Dead letters',
    ]) {
      expect(titles).toContain(title);
    }
    expect(dashboard.templating.list.map((v) => v.name)).toEqual([
      'datasource',
      'namespace',
      'job',
      'flow',
    ]);
    // One fleet at a time: the namespace is a single choice, and every query reads only it and
    // the selected jobs (test/observability-prometheus.test.ts checks the values).
    const namespace = dashboard.templating.list.find((v) => v.name === 'namespace') as unknown as {
      multi: boolean;
      includeAll: boolean;
    };
    expect(namespace).toMatchObject({ multi: false, includeAll: false });
    const selectors = panels
      .flatMap((p) => p.targets ?? [])
      .flatMap(
        (t) =>
          t.expr.match(
            /(?<![:\w])(flow_dispatcher_\w+|up)\{[^}]*\}|(?<![:\w])flow_dispatcher_\w+(?![\w{])/g,
          ) ?? [],
      );
    expect(selectors.length).toBeGreaterThan(40);
    expect(
      selectors.filter((s) => !s.includes('namespace="$namespace"') || !s.includes('job=~"$job"')),
    ).toEqual([]);
    const repeated = panels.find((p) => (p as unknown as { repeat?: string }).repeat === 'flow');
    expect(repeated, 'a row repeated per flow').toBeDefined();
    for (const panel of panels.filter((p) => p.type !== 'row')) {
      expect((panel as unknown as { datasource: unknown }).datasource).toEqual({
        type: 'prometheus',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax
        uid: '${datasource}',
      });
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
    }
  });

  it('provisioning points Grafana at the dashboard folder and Prometheus', () => {
    const provider = parse(
      readFileSync(
        join(REPO, 'deploy/grafana/provisioning/dashboards/flow-dispatcher.yml'),
        'utf8',
      ),
    ) as { providers: { options: { path: string } }[] };
    expect(provider.providers[0]?.options.path).toBe('/var/lib/grafana/dashboards/flow-dispatcher');
    const datasources = parse(
      readFileSync(join(REPO, 'deploy/grafana/provisioning/datasources/prometheus.yml'), 'utf8'),
    ) as { datasources: { type: string; url: string }[] };
    expect(datasources.datasources[0]).toMatchObject({
      type: 'prometheus',
      url: 'http://prometheus:9090',
    });
    // The dashboard file is where Grafana's provider looks: Compose mounts its folder at the
    // provider's path, and Grafana's home dashboard is that file there.
    // biome-ignore lint/suspicious/noExplicitAny: a parsed Compose file
    const compose = parse(readFileSync(join(REPO, 'deploy/docker-compose.yml'), 'utf8')) as any;
    const providerPath = provider.providers[0]?.options.path;
    const mount = (compose.services.grafana.volumes as string[])
      .map((volume) => volume.split(':'))
      .find(([, target]) => target === providerPath);
    expect(mount, `a volume mounted at ${providerPath}`).toBeDefined();
    expect(join(REPO, 'deploy', mount?.[0] ?? '')).toBe(dirname(DASHBOARD_FILE));
    expect(existsSync(DASHBOARD_FILE)).toBe(true);
    expect(compose.services.grafana.environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(
      `${providerPath}/${basename(DASHBOARD_FILE)}`,
    );
  });
});
