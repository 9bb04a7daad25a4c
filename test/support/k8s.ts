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

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

function selects(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = key in labels;
    const ok =
      operator === 'In'
        ? has && values.includes(labels[key] as string)
        : operator === 'NotIn'
          ? !has || !values.includes(labels[key] as string)
          : operator === 'Exists'
            ? has
            : operator === 'DoesNotExist'
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}

function ipv4(address: string): number | undefined {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    return undefined;
  }
  return parts.reduce((n, p) => n * 256 + p, 0);
}

function inCidr(address: string, cidr: string): boolean {
  const [base = '', bits = '32'] = cidr.split('/');
  const ip = ipv4(address);
  const net = ipv4(base);
  if (ip === undefined || net === undefined) return false; // IPv6 blocks match no IPv4 peer
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ip / size) === Math.floor(net / size);
}

/** One end of a connection: a pod (labels, namespace and its labels, named ports) or an address. */
export interface Endpoint {
  namespace?: string;
  namespaceLabels?: Record<string, string>;
  labels?: Record<string, string>;
  /** A pod's container ports by name. */
  ports?: Record<string, number>;
  /** An address outside the cluster's pods. */
  ip?: string;
}

interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

interface PolicyRule {
  from?: PolicyPeer[];
  to?: PolicyPeer[];
  ports?: { port?: number | string; protocol?: string }[];
}

function peerMatches(peer: PolicyPeer, other: Endpoint, policyNamespace: string): boolean {
  if (peer.ipBlock) {
    return (
      other.ip !== undefined &&
      inCidr(other.ip, peer.ipBlock.cidr) &&
      !(peer.ipBlock.except ?? []).some((cidr) => inCidr(other.ip as string, cidr))
    );
  }
  if (other.labels === undefined) return false; // selectors pick pods, not addresses
  if (peer.namespaceSelector) {
    if (!selects(peer.namespaceSelector, other.namespaceLabels ?? {})) return false;
  } else if (other.namespace !== policyNamespace) {
    return false;
  }
  return selects(peer.podSelector, other.labels);
}

/**
 * Whether NetworkPolicy semantics (Kubernetes' documented ones: a pod selected by a policy of a
 * direction accepts only what one of their rules allows) let `from` open `port`/`protocol` on
 * `to`; `port` is a number, or a name of `to`'s container ports.
 */
export function networkPoliciesAllow(
  objects: K8sObject[],
  from: Endpoint,
  to: Endpoint,
  port: number | string,
  protocol = 'TCP',
): boolean {
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
  const number = typeof port === 'number' ? port : to.ports?.[port];
  const portMatches = (rule: PolicyRule) =>
    !rule.ports ||
    rule.ports.some(
      (p) =>
        (p.protocol ?? 'TCP') === protocol &&
        (p.port === undefined ||
          p.port === port ||
          p.port === number ||
          (typeof p.port === 'string' && to.ports?.[p.port] === number)),
    );
  const direction = (side: Endpoint, type: 'Ingress' | 'Egress', other: Endpoint) => {
    if (side.labels === undefined) return true; // not a pod: no policy applies
    const applying = policies.filter(
      (p) =>
        p.metadata.namespace === side.namespace &&
        selects(p.spec.podSelector, side.labels ?? {}) &&
        (p.spec.policyTypes ?? ['Ingress']).includes(type),
    );
    if (applying.length === 0) return true;
    return applying.some((p) =>
      ((type === 'Ingress' ? p.spec.ingress : p.spec.egress) ?? []).some(
        (rule: PolicyRule) =>
          portMatches(rule) &&
          (() => {
            const peers = type === 'Ingress' ? rule.from : rule.to;
            return (
              !peers || peers.some((peer) => peerMatches(peer, other, p.metadata.namespace ?? ''))
            );
          })(),
      ),
    );
  };
  return direction(from, 'Egress', to) && direction(to, 'Ingress', from);
}
