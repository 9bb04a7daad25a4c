import { alwaysAvailableInputs, type FlowSpec } from './simulator-config.js';

/** A flow prepared for the hot path: lookups and JSON fragments built once per configure. */
export interface CompiledFlow {
  readonly name: string;
  readonly label: string;
  /** Declared input names; null accepts any name (flows synthesized for `unknownFlows: 'accept'`). */
  readonly declared: ReadonlySet<string> | null;
  /** Required input names, in declaration order. */
  readonly required: readonly string[];
  /** `{"actionName":"NAME","errors":`: the start of every result element. */
  readonly resultHead: string;
  /** Configured outputs as `"Name":value,`, placed before the Flow__ values. */
  readonly outputFragment: string;
  readonly describeBody: string;
  /** Whole seconds (ms value), as If-Modified-Since compares them. */
  readonly lastModifiedMs: number;
  /** This flow's own transaction capacity; null: the global one applies. */
  readonly transactionCapacity: number | null;
}

/**
 * The org's flows.
 *
 * State: the compiled active flows, the flows synthesized on demand, and per name the last time
 * its definition changed. Transitions: `update` recompiles from the configured specs, keeping a
 * flow's last-modified time when its definition did not change and moving it at least one second
 * forward when it did (so an If-Modified-Since from before the change never gets a 304).
 */
export class FlowCatalog {
  #active = new Map<string, CompiledFlow>();
  /** Names in the current configuration, inactive ones included. */
  #configured = new Set<string>();
  #synthesized = new Map<string, CompiledFlow>();
  #fingerprints = new Map<string, string>();
  #lastModifiedMs = new Map<string, number>();

  update(flows: Readonly<Record<string, FlowSpec>>, nowMs: number): void {
    this.#active.clear();
    this.#configured = new Set(Object.keys(flows));
    for (const [name, spec] of Object.entries(flows)) {
      const fingerprint = JSON.stringify(spec);
      if (this.#fingerprints.get(name) !== fingerprint) {
        this.#fingerprints.set(name, fingerprint);
        this.#lastModifiedMs.set(name, nextSecond(this.#lastModifiedMs.get(name), nowMs));
      }
      if (spec.active === false) continue;
      this.#active.set(name, compile(name, spec, this.#lastModifiedMs.get(name) ?? 0, true));
    }
  }

  /** An active flow by API name, or a synthesized one when `acceptUnknown` is set. */
  find(name: string, acceptUnknown: boolean, nowMs: number): CompiledFlow | undefined {
    const flow = this.#active.get(name);
    // An inactive flow is not unknown: it stays 404 even when unknown names are accepted.
    if (flow !== undefined || !acceptUnknown || this.#configured.has(name)) return flow;
    let synthesized = this.#synthesized.get(name);
    if (synthesized === undefined) {
      const spec: FlowSpec = { inputs: [...alwaysAvailableInputs] };
      synthesized = compile(name, spec, nextSecond(undefined, nowMs), false);
      if (this.#synthesized.size >= 1000) this.#synthesized.clear();
      this.#synthesized.set(name, synthesized);
    }
    return synthesized;
  }

  /** Body of `GET /services/data/vXX.X/actions/custom/flow`. */
  listBody(version: string): string {
    const actions = [...this.#active.values()].map((flow) => ({
      label: flow.label,
      name: flow.name,
      type: 'FLOW',
      url: `/services/data/v${version}/actions/custom/flow/${flow.name}`,
    }));
    return JSON.stringify({ actions });
  }
}

function nextSecond(previousMs: number | undefined, nowMs: number): number {
  const now = Math.floor(nowMs / 1000) * 1000;
  return previousMs === undefined ? now : Math.max(now, previousMs + 1000);
}

function labelOf(name: string, label: string | undefined): string {
  return label ?? name.replaceAll('_', ' ');
}

function compile(
  name: string,
  spec: FlowSpec,
  lastModifiedMs: number,
  strict: boolean,
): CompiledFlow {
  const outputs = spec.outputs ?? [];
  return {
    name,
    label: labelOf(name, spec.label),
    declared: strict ? new Set(spec.inputs.map((input) => input.name)) : null,
    required: spec.inputs.filter((input) => input.required).map((input) => input.name),
    resultHead: `{"actionName":${JSON.stringify(name)},"errors":`,
    outputFragment: outputs
      .map((output) => `${JSON.stringify(output.name)}:${JSON.stringify(output.value ?? null)},`)
      .join(''),
    describeBody: JSON.stringify({
      description: spec.description ?? null,
      inputs: spec.inputs.map((input) => ({
        apexClass: input.apexClass ?? null,
        byteLength: 0,
        configuration: null,
        defaultValue: null,
        description: input.description ?? null,
        label: input.label ?? input.name,
        maxOccurs: input.maxOccurs ?? 1,
        name: input.name,
        picklistValues: null,
        placeholderText: null,
        required: input.required,
        sObjectType: null,
        setupReferenceType: null,
        toolingType: null,
        type: input.type,
      })),
      label: labelOf(name, spec.label),
      name,
      outputs: outputs.map((output) => ({
        additionalAttributes: null,
        apexClass: output.apexClass ?? null,
        description: output.description ?? null,
        label: output.label ?? output.name,
        maxOccurs: output.maxOccurs ?? 1,
        name: output.name,
        picklistValues: null,
        sobjectType: null,
        type: output.type,
      })),
      standard: false,
      targetEntityName: null,
      type: 'FLOW',
    }),
    lastModifiedMs,
    transactionCapacity: spec.transactionCapacity ?? null,
  };
}
