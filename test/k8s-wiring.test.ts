import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  CLUSTER_SCOPED_KINDS,
  copyOfK8s,
  K8S_DIR,
  kubectlSkipReason,
  kustomize,
  overlayKustomization,
  overlayNames,
} from './support/k8s.js';

/**
 * deploy/k8s as a cluster would receive it (docs/operations.md#kubernetes): namespaces, the labels
 * the Prometheus Operator selects on, KEDA's query, the Salesforce credentials, NetworkPolicies.
 * Schemas of every rendered object are checked in observability-deploy.test.ts.
 */

const OVERLAYS = overlayNames();
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
