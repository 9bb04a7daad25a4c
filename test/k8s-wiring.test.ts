import { rmSync } from 'node:fs';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CLUSTER_SCOPED_KINDS,
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
