import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** Helpers of the observability tests (test/observability-*.test.ts): deploy/ files, PromQL. */

export const REPO = fileURLToPath(new URL('..', import.meta.url));
export const RULES_FILE = `${REPO}deploy/prometheus/rules/flow-dispatcher.rules.yml`;
export const RULE_TESTS_FILE = `${REPO}deploy/prometheus/tests/flow-dispatcher.rules.test.yml`;
export const DASHBOARD_FILE = `${REPO}deploy/grafana/dashboards/flow-dispatcher.json`;

export interface RuleGroup {
  name: string;
  interval?: string;
  rules: {
    record?: string;
    alert?: string;
    expr: string;
    for?: string;
    annotations?: Record<string, string>;
  }[];
}

export function readRuleGroups(): RuleGroup[] {
  return (parse(readFileSync(RULES_FILE, 'utf8')) as { groups: RuleGroup[] }).groups;
}

interface DashboardPanel {
  title: string;
  type: string;
  panels?: DashboardPanel[];
  targets?: { expr: string; refId: string }[];
}

export interface Dashboard {
  panels: DashboardPanel[];
  templating: { list: { name: string; type: string; query: unknown; definition?: string }[] };
}

export function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
}

/** Every panel, rows' nested panels included. */
export function dashboardPanels(dashboard: Dashboard): DashboardPanel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

/** A query of the dashboard or the rules, as Prometheus will be asked it. */
export interface NamedQuery {
  /** Where it comes from, e.g. `panel "Dead letters" A` or `alert FlowDispatcherNoWorkerReady`. */
  source: string;
  expr: string;
  /** Alerts: the comparisons must not filter the result away (see `withBoolComparisons`). */
  kind: 'panel' | 'variable' | 'record' | 'alert';
}

/** The values Grafana's variables get in a test: one namespace, its jobs, all flows. */
export interface GrafanaVariables {
  namespace: string;
  /** The jobs' regex, as Grafana builds it for "All": `(a|b)`. */
  job: string;
  /** `$__rate_interval`. @defaultValue `1m` */
  rateInterval?: string;
}

export const DEFAULT_VARIABLES: GrafanaVariables = {
  namespace: 'fleet-a',
  job: '(flow-dispatcher-worker|flow-dispatcher-ingest)',
};

/**
 * Grafana's variables replaced the way Grafana would for one namespace, all its jobs, "All flows"
 * and a 1-minute rate window (the tests scrape every second, so a minute holds plenty of samples).
 */
export function substituteGrafanaVariables(
  expr: string,
  variables: GrafanaVariables = DEFAULT_VARIABLES,
): string {
  return (
    expr
      .replaceAll('$__rate_interval', variables.rateInterval ?? '1m')
      .replaceAll('$__interval', '15s')
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax
      .replaceAll('${flow}', '.*')
      .replaceAll('$flow', '.*')
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax
      .replaceAll('${namespace}', variables.namespace)
      .replaceAll('$namespace', variables.namespace)
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax
      .replaceAll('${job}', variables.job)
      .replaceAll('$job', variables.job)
  );
}

export function dashboardQueries(
  dashboard: Dashboard = readDashboard(),
  variables: GrafanaVariables = DEFAULT_VARIABLES,
): NamedQuery[] {
  const queries: NamedQuery[] = [];
  for (const panel of dashboardPanels(dashboard)) {
    for (const target of panel.targets ?? []) {
      queries.push({
        source: `panel "${panel.title}" ${target.refId}`,
        expr: substituteGrafanaVariables(target.expr, variables),
        kind: 'panel',
      });
    }
  }
  for (const variable of dashboard.templating.list) {
    if (variable.type !== 'query') continue;
    const definition = variable.definition ?? '';
    // label_values(selector, label) lists the label's values on the selector's series.
    const metric = /^label_values\(\s*(.+?)\s*,\s*\w+\s*\)$/.exec(definition)?.[1];
    if (!metric) throw new Error(`variable ${variable.name}: unsupported query ${definition}`);
    queries.push({
      source: `variable $${variable.name}`,
      expr: substituteGrafanaVariables(metric, variables),
      kind: 'variable',
    });
  }
  return queries;
}

export function ruleQueries(groups: RuleGroup[] = readRuleGroups()): NamedQuery[] {
  return groups.flatMap((group) =>
    group.rules.map(
      (rule): NamedQuery =>
        rule.alert
          ? { source: `alert ${rule.alert}`, expr: rule.expr.trim(), kind: 'alert' }
          : { source: `record ${rule.record}`, expr: rule.expr.trim(), kind: 'record' },
    ),
  );
}

/**
 * The same expression with every comparison operator turned into its `bool` form, so that it
 * returns 0 or 1 instead of filtering series away: `x > 1000 and deriv(x[15m]) > 0` becomes
 * `x > bool 1000 and deriv(x[15m]) > bool 0`. An alert that is quiet (as alerts are in a healthy
 * test run) then still shows whether its measures have data. Label matchers (`{a!="b"}`) and
 * strings are left alone.
 */
export function withBoolComparisons(expr: string): string {
  let out = '';
  let braces = 0;
  let quote: string | undefined;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i] as string;
    if (quote) {
      out += c;
      if (c === '\\') {
        out += expr[i + 1] ?? '';
        i++;
      } else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      quote = c;
      out += c;
      continue;
    }
    if (c === '{') braces++;
    if (c === '}') braces--;
    const two = expr.slice(i, i + 2);
    let op: string | undefined;
    if (braces === 0) {
      if (two === '==' || two === '!=' || two === '>=' || two === '<=') op = two;
      else if (c === '>' || c === '<') op = c;
    }
    if (!op) {
      out += c;
      continue;
    }
    out += op;
    i += op.length - 1;
    if (!/^\s*bool\b/.test(expr.slice(i + 1))) out += ' bool';
  }
  return out;
}

/** `flow_dispatcher_*` metric names an expression reads (histogram suffixes stripped). */
export function metricNames(expr: string): string[] {
  const names = expr.match(/(?<![:\w])flow_dispatcher_[a-z0-9_]+/g) ?? [];
  return [...new Set(names.map((name) => name.replace(/_(bucket|sum|count)$/, '')))];
}

/** Metric family names in a Prometheus text exposition (from its `# TYPE` lines). */
export function exposedMetricNames(text: string): Set<string> {
  return new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] as string));
}

/** Runs a command to completion; never throws for a non-zero exit. */
export function run(
  command: string,
  args: string[],
  options: { input?: string; cwd?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? REPO,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    // A command may exit without reading its input; that is its answer, not an error here.
    child.stdin?.on('error', () => {});
    child.stdin?.end(options.input);
  });
}
