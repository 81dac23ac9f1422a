/**
 * Validation and planning: turns the recorded steps into a checked DAG, before anything runs.
 * All problems are collected and reported together, each naming its step.
 */
import { VnfpipeError } from '../errors.js';
import type { Pipeline } from './define.js';
import { parseDuration } from './duration.js';
import type { OutputRefInfo, StepDefinition, StepHandle } from './model.js';
import { collectRefs, describeRef } from './output.js';

/** Built-in stages in delivery order; custom stages fall in by their dependencies. */
export const STAGE_ORDER = ['build', 'scan', 'push', 'deploy', 'verify', 'rollback'] as const;

export interface PlannedStep {
  readonly id: string;
  readonly kind: string;
  readonly stage: string;
  /** Every step this one waits for: output references and explicit `needs`. */
  readonly needs: readonly string[];
  readonly refs: readonly OutputRefInfo[];
  /** Steps that run when this one fails. */
  readonly onFailure: readonly string[];
  /** True when the step runs only as another step's `onFailure` handler. */
  readonly handler: boolean;
  readonly timeoutMs: number | undefined;
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly definition: StepDefinition;
}

export interface Plan {
  readonly pipeline: string;
  /** In a dependency order (every step after the steps it needs). */
  readonly steps: readonly PlannedStep[];
  /** Stages in the order they run. */
  readonly stages: readonly string[];
}

const STEP_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function idOf(target: StepHandle<unknown> | string): string {
  return typeof target === 'string' ? target : target.id;
}

export function planPipeline(pipeline: Pipeline): Plan {
  const problems: string[] = [];
  // `file:line:col:` first, as compilers print it, so editors and terminals can jump there.
  const where = (def: StepDefinition) =>
    def.declaredAt ? `${def.declaredAt}: step '${def.id}'` : `step '${def.id}'`;
  const byId = new Map<string, StepDefinition>();

  for (const def of pipeline.steps) {
    if (typeof def.id !== 'string' || !STEP_ID.test(def.id)) {
      problems.push(`step id '${String(def.id)}' must be letters, digits, '.', '_' or '-'`);
      continue;
    }
    if (byId.has(def.id)) {
      problems.push(
        `${where(def)}: duplicate step id (first declared at ${byId.get(def.id)?.declaredAt ?? 'an earlier step'})`,
      );
      continue;
    }
    byId.set(def.id, def);
  }

  const planned = new Map<string, Omit<PlannedStep, 'handler'>>();
  const handlers = new Set<string>();
  for (const def of byId.values()) {
    const shapeProblems = optionShapeProblems(def.options);
    if (shapeProblems.length > 0) {
      for (const problem of shapeProblems) problems.push(`${where(def)}: ${problem}`);
      continue;
    }
    const refs = collectRefs(def.spec.options);
    const explicit = (def.options.needs ?? []).map(idOf);
    const onFailure = toList(def.options.onFailure).map(idOf);
    for (const ref of refs) {
      if (!byId.has(ref.step))
        problems.push(`${where(def)}: uses ${describeRef(ref)}, but there is no step '${ref.step}'`);
      if (ref.step === def.id) problems.push(`${where(def)}: uses its own output ${describeRef(ref)}`);
    }
    for (const need of explicit) {
      if (!byId.has(need)) problems.push(`${where(def)}: needs '${need}', but there is no such step`);
    }
    for (const target of onFailure) {
      if (!byId.has(target))
        problems.push(`${where(def)}: onFailure names '${target}', but there is no such step`);
      else if (target === def.id) problems.push(`${where(def)}: cannot be its own onFailure handler`);
      else handlers.add(target);
    }
    const stage = def.options.stage ?? def.spec.stage;
    if (!STEP_ID.test(stage))
      problems.push(`${where(def)}: stage '${stage}' must be letters, digits, '.', '_' or '-'`);
    const retries = def.options.retries ?? 0;
    if (!Number.isInteger(retries) || retries < 0) {
      problems.push(`${where(def)}: retries must be a whole number ≥ 0, got ${String(retries)}`);
    }
    let timeoutMs: number | undefined;
    let retryDelayMs = 1000;
    try {
      if (def.options.timeout !== undefined) timeoutMs = parseDuration(def.options.timeout, 'timeout');
      if (def.options.retryDelay !== undefined)
        retryDelayMs = parseDuration(def.options.retryDelay, 'retryDelay');
    } catch (error) {
      problems.push(`${where(def)}: ${(error as Error).message}`);
    }
    if (typeof def.spec.run !== 'function')
      problems.push(`${where(def)}: '${def.spec.kind}' has no run function`);
    try {
      def.spec.validate?.(def.spec.options);
    } catch (error) {
      problems.push(
        `${where(def)}: ${error instanceof VnfpipeError ? error.describe() : (error as Error).message}`,
      );
    }
    const needs = [...new Set([...refs.map((ref) => ref.step), ...explicit])].filter((id) => id !== def.id);
    planned.set(def.id, {
      id: def.id,
      kind: def.spec.kind,
      stage,
      needs,
      refs,
      onFailure,
      timeoutMs,
      retries,
      retryDelayMs,
      definition: def,
    });
  }

  for (const step of planned.values()) {
    for (const need of step.needs) {
      if (handlers.has(need) && !handlers.has(step.id)) {
        problems.push(`step '${step.id}': needs '${need}', which runs only when another step fails`);
      }
    }
  }

  const cycle = findCycle(planned);
  if (cycle) {
    // Each step of the cycle once, with the line that declared it: that is where to cut the loop.
    const sites = cycle
      .slice(0, -1)
      .map((id) => `\n      ${id}: ${planned.get(id)?.definition.declaredAt ?? 'declared in the pipeline'}`);
    problems.push(`dependency cycle: ${cycle.join(' → ')}${sites.join('')}`);
  }

  if (problems.length > 0) throw invalid(pipeline.name, problems);

  const ordered = topologicalOrder(planned);
  const steps = ordered.map((step) => ({ ...step, handler: handlers.has(step.id) }));
  const stages = orderStages(steps);
  if (!Array.isArray(stages)) throw invalid(pipeline.name, [stages.problem]);
  return { pipeline: pipeline.name, steps, stages };
}

function invalid(pipeline: string, problems: string[]): VnfpipeError {
  const list = problems.map((problem) => `  - ${problem}`).join('\n');
  return new VnfpipeError('PIPELINE_INVALID', `pipeline '${pipeline}' is invalid:\n${list}`, {
    hint: problems.length > 1 ? `${problems.length} problems` : undefined,
  });
}

const isStepRef = (value: unknown) =>
  typeof value === 'string' ||
  (typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string');

/** Step options come from user code: check their shapes before anything trusts them. */
function optionShapeProblems(options: StepDefinition['options']): string[] {
  if (typeof options !== 'object' || options === null) return ['step options must be an object'];
  const problems: string[] = [];
  if (options.needs !== undefined && !(Array.isArray(options.needs) && options.needs.every(isStepRef))) {
    problems.push('needs must be a list of steps (handles or ids), e.g. needs: [build]');
  }
  const onFailure = options.onFailure;
  if (
    onFailure !== undefined &&
    !(Array.isArray(onFailure) ? onFailure.every(isStepRef) : isStepRef(onFailure))
  ) {
    problems.push('onFailure must be a step (handle or id) or a list of them');
  }
  if (
    options.inputs !== undefined &&
    !(Array.isArray(options.inputs) && options.inputs.every((g) => typeof g === 'string'))
  ) {
    problems.push("inputs must be a list of globs, e.g. inputs: ['src/**']");
  }
  if (options.stage !== undefined && typeof options.stage !== 'string') problems.push('stage must be a name');
  if (options.when !== undefined && typeof options.when !== 'boolean' && typeof options.when !== 'function') {
    problems.push('when must be a boolean or a function');
  }
  return problems;
}

function toList<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

type Node = { readonly id: string; readonly needs: readonly string[] };

/** A cycle as a path that starts and ends on the same step, or undefined. */
export function findCycle(nodes: ReadonlyMap<string, Node>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    const mark = state.get(id);
    if (mark === 'done') return undefined;
    if (mark === 'visiting') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'visiting');
    path.push(id);
    for (const need of nodes.get(id)?.needs ?? []) {
      if (!nodes.has(need)) continue;
      const cycle = visit(need);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const id of nodes.keys()) {
    const cycle = visit(id);
    // Report in execution direction: a → b means b needs a.
    if (cycle) return cycle.reverse();
  }
  return undefined;
}

/** Dependency order, stable with respect to declaration order. */
function topologicalOrder<T extends Node>(nodes: ReadonlyMap<string, T>): T[] {
  const done = new Set<string>();
  const out: T[] = [];
  const visit = (node: T) => {
    if (done.has(node.id)) return;
    done.add(node.id);
    for (const need of node.needs) {
      const dep = nodes.get(need);
      if (dep) visit(dep);
    }
    out.push(node);
  };
  for (const node of nodes.values()) visit(node);
  return out;
}

/** Orders stages so that every stage comes after the stages its steps depend on. */
function orderStages(steps: readonly PlannedStep[]): string[] | { problem: string } {
  const stageOf = new Map(steps.map((step) => [step.id, step.stage]));
  const edges = new Map<string, Set<string>>();
  // A step behind each edge, described only when the stages form a cycle (its site is costly to work out).
  const witness = new Map<string, { step: PlannedStep; need: string }>();
  for (const step of steps) {
    if (!edges.has(step.stage)) edges.set(step.stage, new Set());
    for (const need of step.needs) {
      const from = stageOf.get(need);
      if (from && from !== step.stage) {
        edges.get(step.stage)?.add(from);
        witness.set(`${from}>${step.stage}`, { step, need });
      }
    }
  }
  const describe = ({ step, need }: { step: PlannedStep; need: string }) => {
    const at = step.definition.declaredAt;
    return `${step.id} needs ${need}${at ? ` at ${at}` : ''}`;
  };
  const nodes = new Map([...edges].map(([id, needs]) => [id, { id, needs: [...needs] }]));
  const cycle = findCycle(nodes);
  if (cycle) {
    const because = cycle
      .slice(1)
      .map((stage, i) => witness.get(`${cycle[i]}>${stage}`))
      .filter((edge) => edge !== undefined)
      .map(describe)
      .join('; ');
    return { problem: `stages depend on each other: ${cycle.join(' → ')} (${because})` };
  }
  const rank = (stage: string) => {
    const index = (STAGE_ORDER as readonly string[]).indexOf(stage);
    return index === -1 ? STAGE_ORDER.length : index;
  };
  // Kahn's algorithm, choosing among ready stages by delivery order, then first appearance.
  const firstSeen = [...edges.keys()];
  const remaining = new Map([...edges].map(([stage, needs]) => [stage, new Set(needs)]));
  const order: string[] = [];
  while (remaining.size > 0) {
    const ready = [...remaining].filter(([, needs]) => needs.size === 0).map(([stage]) => stage);
    ready.sort((a, b) => rank(a) - rank(b) || firstSeen.indexOf(a) - firstSeen.indexOf(b));
    const next = ready[0]!;
    order.push(next);
    remaining.delete(next);
    for (const needs of remaining.values()) needs.delete(next);
  }
  return order;
}
