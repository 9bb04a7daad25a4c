import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { loadConfig } from '@flow-dispatcher/shared';
import * as apps from 'kubernetes-models/apps/v1';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  CLUSTER_SCOPED_KINDS,
  copyOfK8s,
  type Endpoint,
  K8S_DIR,
  type K8sObject,
  kubectlSkipReason,
  kustomize,
  networkPoliciesAllow,
  overlayKustomization,
  overlayNames,
} from './support/k8s.js';

/**
 * deploy/k8s as a cluster would receive it (docs/operations.md#kubernetes): namespaces, the labels
 * the Prometheus Operator selects on, KEDA's query, the Salesforce credentials, NetworkPolicies.
 * Schemas of every rendered object are checked in observability-deploy.test.ts.
 */

const OVERLAYS = overlayNames();

/** kubectl with no kubeconfig of the user's: only `--server` tells it where to go. */
function runKubectl(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', args, {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, KUBECONFIG: '/dev/null' },
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
const skipReason = kubectlSkipReason();
const scratch: string[] = [];

beforeEach((ctx) => {
  if (skipReason) ctx.skip(skipReason);
});
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

describe('deploy/k8s namespaces', () => {
  it('lists the overlays it checks', () => {
    expect(OVERLAYS).toEqual(expect.arrayContaining(['dev', 'production', 'production-hpa']));
  });

  it.each(OVERLAYS)(
    'overlay %s: every namespaced object is in the namespace the overlay declares',
    (overlay) => {
      const namespace = overlayKustomization(overlay).namespace;
      expect(namespace, `overlays/${overlay}/kustomization.yaml sets namespace`).toBeTruthy();
      const objects = kustomize(`${K8S_DIR}/overlays/${overlay}`);
      const misplaced = objects
        .filter((o) => !CLUSTER_SCOPED_KINDS.has(o.kind) && o.metadata.namespace !== namespace)
        .map((o) => `${o.kind}/${o.metadata.name} in ${o.metadata.namespace ?? '(none)'}`);
      expect(misplaced).toEqual([]);
      expect(objects.filter((o) => !CLUSTER_SCOPED_KINDS.has(o.kind)).length).toBeGreaterThan(5);
    },
  );
});

describe('deploy/k8s Prometheus Operator and KEDA wiring', () => {
  /** overlays/production in a copy of deploy/k8s, with its namespace and cluster settings changed. */
  function renderProductionWith(settings: {
    namespace: string;
    release: string;
    prometheusUrl: string;
  }) {
    const root = copyOfK8s();
    scratch.push(root);
    const dir = join(root, 'overlays/production');
    const kustomization = readFileSync(join(dir, 'kustomization.yaml'), 'utf8');
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      kustomization.replace(/^namespace: .*$/m, `namespace: ${settings.namespace}`),
    );
    const clusterSettings = parse(readFileSync(join(dir, 'cluster-settings.yaml'), 'utf8'));
    clusterSettings.data.prometheusRelease = settings.release;
    clusterSettings.data.prometheusUrl = settings.prometheusUrl;
    writeFileSync(join(dir, 'cluster-settings.yaml'), stringify(clusterSettings));
    return kustomize(dir);
  }

  it.each(['production', 'production-hpa'])(
    'overlay %s: ServiceMonitors and the PrometheusRule carry kube-prometheus-stack’s release label',
    (overlay) => {
      const objects = kustomize(`${K8S_DIR}/overlays/${overlay}`);
      const selected = objects.filter((o) => ['ServiceMonitor', 'PrometheusRule'].includes(o.kind));
      expect(selected.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
        'PrometheusRule/flow-dispatcher',
        'ServiceMonitor/flow-dispatcher-ingest',
        'ServiceMonitor/flow-dispatcher-worker',
      ]);
      for (const object of selected) {
        expect(object.metadata.labels?.release, object.metadata.name).toBe('kube-prometheus-stack');
      }
      // The settings object is kustomize's input only, never applied to the cluster.
      expect(objects.filter((o) => o.metadata.name === 'cluster-settings')).toEqual([]);
    },
  );

  it("the overlay's namespace, release label and Prometheus address reach KEDA and the monitors", () => {
    const objects = renderProductionWith({
      namespace: 'acme-fleet',
      release: 'prom-acme',
      prometheusUrl: 'http://prometheus.observability.svc:9090',
    });
    const scaledObject = objects.find((o) => o.kind === 'ScaledObject');
    const trigger = scaledObject?.spec.triggers.find((t: { name: string }) => t.name === 'backlog');
    expect(trigger.metadata.query).toBe(
      'sum(max by (flow) (flow_dispatcher_backlog_triggers{job="flow-dispatcher-worker",namespace="acme-fleet"}))',
    );
    expect(trigger.metadata.serverAddress).toBe('http://prometheus.observability.svc:9090');
    for (const object of objects.filter((o) =>
      ['ServiceMonitor', 'PrometheusRule'].includes(o.kind),
    )) {
      expect(object.metadata.labels?.release, object.metadata.name).toBe('prom-acme');
    }
    const misplaced = objects.filter(
      (o) => !CLUSTER_SCOPED_KINDS.has(o.kind) && o.metadata.namespace !== 'acme-fleet',
    );
    expect(misplaced.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
  });
});

describe('deploy/k8s Salesforce credentials', () => {
  interface EnvVar {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string } };
  }
  const FLEET = ['flow-dispatcher-worker', 'flow-dispatcher-ingest'];

  /** Values for the Secret keys the pods read; any other key reads as `secret:<key>`. */
  const SECRET_VALUES: Record<string, string> = {
    REDIS_URL: 'redis://:password@redis:6379',
    INGEST_TOKENS: 'a-token-of-sixteen-chars',
  };

  function container(objects: K8sObject[], deployment: string) {
    const pod = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === deployment)?.spec
      .template.spec;
    return pod.containers[0] as { env: EnvVar[] };
  }

  /**
   * The environment a container of the Deployment would get: the ConfigMap, then its `env`, each
   * Secret key it reads set to a placeholder.
   */
  function containerEnv(objects: K8sObject[], deployment: string): Record<string, string> {
    const configMap = objects.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('flow-dispatcher'),
    );
    const env: Record<string, string> = { ...configMap?.data };
    for (const variable of container(objects, deployment).env) {
      const ref = variable.valueFrom?.secretKeyRef;
      env[variable.name] = ref
        ? (SECRET_VALUES[ref.key] ?? `secret:${ref.key}`)
        : (variable.value ?? '');
    }
    return env;
  }

  /** The Secret (name without kustomize's hash suffix) and key a variable comes from. */
  function secretSource(objects: K8sObject[], deployment: string, name: string) {
    const ref = container(objects, deployment).env.find((e) => e.name === name)?.valueFrom
      ?.secretKeyRef;
    return ref && `${ref.name.replace(/-(?=[a-z0-9]*\d)[a-z0-9]{10}$/, '')}/${ref.key}`;
  }

  it.each(['dev', 'production', 'production-hpa'])(
    'overlay %s: client credentials from the Secret, and they load as the client-credentials flow',
    (overlay) => {
      const objects = kustomize(`${K8S_DIR}/overlays/${overlay}`);
      for (const name of FLEET) {
        const env = containerEnv(objects, name);
        expect(secretSource(objects, name, 'SF_CLIENT_SECRET'), name).toBe(
          'flow-dispatcher/SF_CLIENT_SECRET',
        );
        expect(env.SF_PRIVATE_KEY_FILE, name).toBeUndefined();
        expect(loadConfig(env).salesforce.auth?.kind, name).toBe('client-credentials');
      }
    },
  );

  it('components/salesforce-jwt mounts the private key where SF_PRIVATE_KEY_FILE points, with no client secret', () => {
    const root = copyOfK8s();
    scratch.push(root);
    const file = join(root, 'overlays/production/kustomization.yaml');
    const kustomization = readFileSync(file, 'utf8');
    expect(kustomization).toContain('- ../../components/salesforce-client-secret\n');
    writeFileSync(
      file,
      kustomization.replace(
        '- ../../components/salesforce-client-secret\n',
        '- ../../components/salesforce-jwt\n',
      ),
    );
    const objects = kustomize(join(root, 'overlays/production'));
    for (const name of FLEET) {
      const env = containerEnv(objects, name);
      expect(env.SF_CLIENT_SECRET, name).toBeUndefined();
      expect(secretSource(objects, name, 'SF_USERNAME'), name).toBe('flow-dispatcher/SF_USERNAME');
      const auth = loadConfig(env).salesforce.auth;
      expect(auth, name).toMatchObject({
        kind: 'jwt-bearer',
        clientId: 'secret:SF_CLIENT_ID',
        username: 'secret:SF_USERNAME',
        privateKeyFile: '/etc/flow-dispatcher/salesforce/private-key.pem',
      });
      // The file exists in the container: a read-only mount of the key Secret's item.
      const pod = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name)?.spec
        .template.spec;
      const mount = pod.containers[0].volumeMounts.find(
        (m: { mountPath: string }) => m.mountPath === '/etc/flow-dispatcher/salesforce',
      );
      expect(mount, name).toMatchObject({ readOnly: true });
      const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name);
      expect(volume.secret.secretName).toBe('flow-dispatcher-salesforce-key');
      expect(volume.secret.items).toEqual([{ key: 'private-key.pem', path: 'private-key.pem' }]);
      expect(volume.secret.defaultMode & 0o007, 'not readable by others').toBe(0);
      expect(volume.secret.defaultMode & 0o040, 'readable by the pod’s fsGroup').toBe(0o040);
      expect(pod.securityContext.fsGroup).toBe(1000);
    }
    // What the base's objects become stays valid Kubernetes.
    for (const object of objects.filter((o) => o.kind === 'Deployment')) {
      expect(() => new apps.Deployment(object as never).validate()).not.toThrow();
    }
  });
});

describe('deploy/k8s NetworkPolicies', () => {
  /** A pod of the rendered Deployment, as the policies see it. */
  function podOf(objects: K8sObject[], deployment: string): Endpoint {
    const object = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === deployment);
    if (!object) throw new Error(`no Deployment ${deployment}`);
    const namespace = object.metadata.namespace ?? '';
    const template = object.spec.template;
    return {
      namespace,
      namespaceLabels: { 'kubernetes.io/metadata.name': namespace },
      labels: template.metadata.labels,
      ports: Object.fromEntries(
        template.spec.containers.flatMap(
          (c: { ports?: { name: string; containerPort: number }[] }) =>
            (c.ports ?? []).map((p) => [p.name, p.containerPort]),
        ),
      ),
    };
  }
  const podIn = (namespace: string, labels: Record<string, string>, nsLabels = {}): Endpoint => ({
    namespace,
    namespaceLabels: { 'kubernetes.io/metadata.name': namespace, ...nsLabels },
    labels,
  });
  const producer = podIn('shop', { app: 'checkout' }, { 'flow-dispatcher.io/producer': 'true' });
  const stranger = podIn('sandbox', { app: 'curl' });
  const prometheus = podIn('monitoring', { 'app.kubernetes.io/name': 'prometheus' });
  const kubeDns = podIn('kube-system', { 'k8s-app': 'kube-dns' });

  it('production: ingest from producer namespaces, metrics from Prometheus only', () => {
    const objects = kustomize(`${K8S_DIR}/overlays/production`);
    const ingest = podOf(objects, 'flow-dispatcher-ingest');
    const worker = podOf(objects, 'flow-dispatcher-worker');
    const allow = (from: Endpoint, to: Endpoint, port: string) =>
      networkPoliciesAllow(objects, from, to, port);

    expect(allow(producer, ingest, 'http')).toBe(true);
    expect(allow(stranger, ingest, 'http')).toBe(false);
    expect(allow(producer, ingest, 'metrics'), 'producers never reach /metrics, /admin').toBe(
      false,
    );
    expect(allow(prometheus, ingest, 'metrics')).toBe(true);
    expect(allow(prometheus, worker, 'metrics')).toBe(true);
    expect(allow(producer, worker, 'metrics')).toBe(false);
    expect(allow(stranger, worker, 'metrics')).toBe(false);
  });

  it('production: ingest and workers reach DNS, Redis and Salesforce (443), nothing else', () => {
    const objects = kustomize(`${K8S_DIR}/overlays/production`);
    for (const name of ['flow-dispatcher-worker', 'flow-dispatcher-ingest']) {
      const pod = podOf(objects, name);
      const allow = (to: Endpoint, port: number, protocol = 'TCP') =>
        networkPoliciesAllow(objects, pod, to, port, protocol);
      expect(allow(kubeDns, 53, 'UDP'), name).toBe(true);
      expect(allow(kubeDns, 53, 'TCP'), name).toBe(true);
      expect(allow({ ip: '10.20.0.5' }, 6379), `${name}: a managed Redis`).toBe(true);
      expect(allow({ ip: '10.20.0.5' }, 6380), `${name}: a managed Redis, TLS`).toBe(true);
      // Salesforce's addresses are public ones.
      expect(allow({ ip: '13.108.0.1' }, 443), `${name}: Salesforce`).toBe(true);
      expect(allow({ ip: '13.108.0.1' }, 80), name).toBe(false);
      expect(allow({ ip: '13.108.0.1' }, 6379), `${name}: Redis on the internet`).toBe(false);
      expect(allow({ ip: '10.20.0.5' }, 443), `${name}: HTTPS inside the network`).toBe(false);
      expect(allow({ ip: '169.254.169.254' }, 443), `${name}: cloud metadata`).toBe(false);
      expect(allow(stranger, 8080), `${name}: another pod`).toBe(false);
      expect(allow(podIn('shop', { app: 'postgres' }), 5432), name).toBe(false);
    }
  });

  it('dev with the component: its Redis is reachable from the fleet only', () => {
    const root = copyOfK8s();
    scratch.push(root);
    const file = join(root, 'overlays/dev/kustomization.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(
        'components:\n',
        'components:\n  - ../../components/network-policies\n',
      ),
    );
    const objects = kustomize(join(root, 'overlays/dev'));
    const redis = podOf(objects, 'flow-dispatcher-redis');
    expect(redis.ports).toEqual({ redis: 6379 });
    for (const name of ['flow-dispatcher-worker', 'flow-dispatcher-ingest']) {
      expect(networkPoliciesAllow(objects, podOf(objects, name), redis, 6379), name).toBe(true);
    }
    const simulator = podOf(objects, 'flow-dispatcher-simulator');
    expect(networkPoliciesAllow(objects, simulator, redis, 6379)).toBe(false);
    expect(networkPoliciesAllow(objects, stranger, redis, 6379)).toBe(false);
    expect(networkPoliciesAllow(objects, producer, redis, 6379)).toBe(false);
  });

  it('the ingest Service and ServiceMonitor use the metrics port ingest listens on (METRICS_PORT)', () => {
    const objects = kustomize(`${K8S_DIR}/overlays/production`);
    const configMap = objects.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name === 'flow-dispatcher',
    );
    // The ports ingest reads from the ConfigMap (the rest of its configuration is checked above).
    const config = loadConfig({
      INGEST_PORT: configMap?.data?.INGEST_PORT,
      METRICS_PORT: configMap?.data?.METRICS_PORT,
    });
    expect(config.ingest.metricsPort).toBe(9464);
    const ingest = podOf(objects, 'flow-dispatcher-ingest');
    expect(ingest.ports).toEqual({ http: config.ingest.port, metrics: config.ingest.metricsPort });
    const monitor = objects.find(
      (o) => o.kind === 'ServiceMonitor' && o.metadata.name === 'flow-dispatcher-ingest',
    );
    const service = objects.find(
      (o) => o.kind === 'Service' && o.metadata.name === 'flow-dispatcher-ingest',
    );
    const endpoint = monitor?.spec.endpoints[0];
    expect(endpoint).toMatchObject({ port: 'metrics', path: '/metrics' });
    const servicePort = service?.spec.ports.find((p: { name: string }) => p.name === endpoint.port);
    expect(ingest.ports?.[servicePort.targetPort]).toBe(config.ingest.metricsPort);
  });
});

describe('deploy/k8s kubectl apply --dry-run=client', () => {
  /**
   * kubectl needs an API server's discovery even for a client dry run (it maps each kind to its
   * resource and scope). This stub serves discovery for the kinds flow-dispatcher ships (as a
   * cluster with KEDA and the Prometheus Operator would) and answers 404 to every object, so
   * each one is "created (dry run)"; it records the URL kubectl looked each object up at.
   */
  const RESOURCES: Record<string, [kind: string, plural: string, namespaced: boolean][]> = {
    v1: [
      ['ConfigMap', 'configmaps', true],
      ['Secret', 'secrets', true],
      ['Service', 'services', true],
      ['ServiceAccount', 'serviceaccounts', true],
      ['Namespace', 'namespaces', false],
    ],
    'apps/v1': [['Deployment', 'deployments', true]],
    'policy/v1': [['PodDisruptionBudget', 'poddisruptionbudgets', true]],
    'autoscaling/v2': [['HorizontalPodAutoscaler', 'horizontalpodautoscalers', true]],
    'networking.k8s.io/v1': [['NetworkPolicy', 'networkpolicies', true]],
    'keda.sh/v1alpha1': [['ScaledObject', 'scaledobjects', true]],
    'monitoring.coreos.com/v1': [
      ['ServiceMonitor', 'servicemonitors', true],
      ['PrometheusRule', 'prometheusrules', true],
    ],
  };

  async function startDiscoveryStub() {
    const requests: string[] = [];
    const server = createServer((request, response) => {
      const path = (request.url ?? '').split('?')[0] ?? '';
      requests.push(`${request.method} ${path}`);
      const send = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      if (path === '/api') return send(200, { kind: 'APIVersions', versions: ['v1'] });
      if (path === '/apis') {
        const groups = Object.keys(RESOURCES)
          .filter((gv) => gv.includes('/'))
          .map((gv) => {
            const [name, version] = gv.split('/');
            const preferred = { groupVersion: gv, version };
            return { name, versions: [preferred], preferredVersion: preferred };
          });
        return send(200, { kind: 'APIGroupList', apiVersion: 'v1', groups });
      }
      const list = /^\/(?:api\/(v1)|apis\/([^/]+\/[^/]+))$/.exec(path);
      if (list) {
        const groupVersion = (list[1] ?? list[2]) as string;
        const resources = (RESOURCES[groupVersion] ?? []).map(([kind, name, namespaced]) => ({
          name,
          singularName: '',
          namespaced,
          kind,
          verbs: ['create', 'get', 'list', 'patch', 'update', 'delete'],
        }));
        return send(200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources });
      }
      return send(404, {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'NotFound',
        code: 404,
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, requests, close: () => server.close() };
  }

  it.each(OVERLAYS)(
    'overlay %s: kubectl accepts every object, each in the overlay’s namespace',
    async (overlay) => {
      const stub = await startDiscoveryStub();
      try {
        const dir = `${K8S_DIR}/overlays/${overlay}`;
        const result = await runKubectl([
          'apply',
          '--dry-run=client',
          // Validation downloads the server's OpenAPI document, which the stub has not: the
          // schemas are checked against the same models in observability-deploy.test.ts.
          '--validate=false',
          '--server',
          stub.url,
          '-k',
          dir,
        ]);
        expect(result.stderr.replace(/^.*memcache.*\n?/gm, '')).toBe('');
        expect(result.code).toBe(0);
        const objects = kustomize(dir);
        const applied = result.stdout.trim().split('\n');
        expect(applied).toHaveLength(objects.length);
        for (const line of applied) expect(line).toMatch(/^\S+\/\S+ created \(dry run\)$/);
        const namespace = overlayKustomization(overlay).namespace;
        for (const object of objects) {
          const [kind, plural] =
            Object.values(RESOURCES)
              .flat()
              .find(([k]) => k === object.kind) ?? [];
          expect(kind, `the stub serves ${object.kind}`).toBeDefined();
          const where = CLUSTER_SCOPED_KINDS.has(object.kind)
            ? `/${plural}/${object.metadata.name}`
            : `/namespaces/${namespace}/${plural}/${object.metadata.name}`;
          expect(
            stub.requests.some((r) => r.startsWith('GET ') && r.endsWith(where)),
            `kubectl looked ${object.kind}/${object.metadata.name} up at …${where}`,
          ).toBe(true);
        }
      } finally {
        stub.close();
      }
    },
  );
});
