import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

/** A Kubernetes memory quantity in Mi or Gi, in MiB. */
export function mebibytes(quantity: string): number {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
  if (!match) throw new Error(`unexpected memory quantity ${quantity}`);
  return Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1);
}

/** deploy/k8s of this checkout. */
export const K8S_DIR = fileURLToPath(new URL('../../deploy/k8s', import.meta.url));

/** A rendered Kubernetes object, loosely typed: the tests check them against schemas. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are checked against schemas elsewhere
  spec?: any;
  data?: Record<string, string>;
}

/** Every overlay under deploy/k8s/overlays (a new one is checked without editing the tests). */
export function overlayNames(root = K8S_DIR): string[] {
  return readdirSync(join(root, 'overlays'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

/** The kustomization.yaml of an overlay, parsed. */
export function overlayKustomization(
  overlay: string,
  root = K8S_DIR,
): { namespace?: string; [key: string]: unknown } {
  return parse(readFileSync(join(root, 'overlays', overlay, 'kustomization.yaml'), 'utf8'));
}

/** Kinds that live outside namespaces (of those a kustomization here could render). */
export const CLUSTER_SCOPED_KINDS = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PriorityClass',
  'StorageClass',
  'PersistentVolume',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
]);

/** `kubectl kustomize DIR`: its objects, or throws with kustomize's message. */
export function kustomize(dir: string): K8sObject[] {
  const result = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  if (result.status !== 0 || result.stderr) {
    throw new Error(`kubectl kustomize ${dir}: ${result.stderr || result.error?.message}`);
  }
  return parseAllDocuments(result.stdout).map((doc) => doc.toJS() as K8sObject);
}

/** A copy of deploy/k8s in a temporary folder, to render with a setting changed. */
export function copyOfK8s(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fd-k8s-'));
  cpSync(K8S_DIR, dir, { recursive: true });
  return dir;
}

/** Whether kubectl is on PATH. */
export function hasKubectl(): boolean {
  return spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
}

/**
 * Why a test needing kubectl skips (and how to get it), or undefined when it runs: kubectl is
 * installed, or CI=true (where a missing kubectl must fail, not skip).
 */
export function kubectlSkipReason(): string | undefined {
  if (hasKubectl() || process.env.CI === 'true') return undefined;
  return 'kubectl is not installed (install: https://kubernetes.io/docs/tasks/tools/ , e.g. `apt-get install kubectl` from the Kubernetes apt repository)';
}
