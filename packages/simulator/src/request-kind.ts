/** What a request to the simulator asks Salesforce for; `stats().requests` counts each kind. */
export type RequestKind = 'invoke' | 'describe' | 'list' | 'limits' | 'token' | 'other';

export const requestKinds: readonly RequestKind[] = [
  'invoke',
  'describe',
  'list',
  'limits',
  'token',
  'other',
];

/** A `/services/data/...` path, split. */
export interface DataPath {
  /** `65.0` for `v65.0`; '' when the segment does not start with `v`. */
  version: string;
  /** The segments after the version (a trailing `/` dropped). */
  rest: string[];
  /** The path is `/actions/custom/flow` or below it. */
  flowPath: boolean;
  /** The decoded `{flow}` of `/actions/custom/flow/{flow}`, else null. */
  flowName: string | null;
}

export function parseDataPath(path: string): DataPath {
  // ['', 'services', 'data', 'v65.0', 'actions', 'custom', 'flow', 'Name']
  const segments = path.split('/');
  if (segments.length > 4 && segments[segments.length - 1] === '') segments.pop();
  const versionSegment = segments[3] ?? '';
  const version = versionSegment.startsWith('v') ? versionSegment.slice(1) : '';
  const rest = segments.slice(4);
  const flowPath =
    rest.length >= 3 && rest[0] === 'actions' && rest[1] === 'custom' && rest[2] === 'flow';
  const flowName = flowPath && rest.length === 4 ? safeDecode(rest[3] ?? '') : null;
  return { version, rest, flowPath, flowName };
}

/** The kind of a request; `data` is `parseDataPath(path)` for a `/services/data/` path. */
export function requestKind(method: string, path: string, data: DataPath | null): RequestKind {
  if (path === '/services/oauth2/token') return 'token';
  if (data === null) return 'other';
  if (data.rest.length === 1 && data.rest[0] === 'limits') return 'limits';
  if (data.flowPath && data.rest.length === 3) return 'list';
  if (data.flowName !== null) {
    if (method === 'POST') return 'invoke';
    if (method === 'GET' || method === 'HEAD') return 'describe';
  }
  return 'other';
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
