/**
 * Output references: typed placeholders for values that steps produce. Accessing a property gives a
 * reference to that property, so `img.out.digest` is itself a reference a later step can take.
 */
import { inspect } from 'node:util';
import { VnfpipeError } from '../errors.js';
import { OUTPUT_REF, type Output, type OutputRef, type OutputRefInfo } from './model.js';
import { isSecretRef, resolveSecret, type SecretRef } from './secret.js';
import { type LaterSite, laterCallerSite, withSite } from './site.js';

export function outputRef<T>(step: string, path: readonly string[] = [], site?: string): Output<T> {
  return refTo<T>(step, path, site ? () => site : undefined);
}

function refTo<T>(step: string, path: readonly string[], site: LaterSite | undefined): Output<T> {
  const info: OutputRefInfo = Object.freeze(withSite({ step, path: Object.freeze([...path]) }, 'site', site));
  const describe = () => `${step}.out${path.map((key) => `.${key}`).join('')}`;
  return new Proxy(Object.create(null) as object, {
    get(_target, key) {
      if (key === OUTPUT_REF) return info;
      if (key === 'toJSON') return () => ({ $output: describe() });
      if (key === inspect.custom || key === Symbol.toPrimitive || key === 'toString') return describe;
      // Never look like a promise: `await ref` must not hang or call into the proxy.
      if (typeof key === 'symbol' || key === 'then') return undefined;
      // The line that named the field: an error about a missing field points there.
      return refTo(step, [...path, key], laterCallerSite());
    },
    has: (_target, key) => key === OUTPUT_REF,
    set() {
      throw new VnfpipeError(
        'PIPELINE_INVALID',
        `cannot assign to ${describe()}: step outputs are read-only`,
      );
    },
  }) as Output<T>;
}

export function isOutputRef(value: unknown): value is OutputRef<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    (value as Record<symbol, unknown>)[OUTPUT_REF] !== undefined
  );
}

export function refInfo(ref: OutputRef<unknown>): OutputRefInfo {
  return ref[OUTPUT_REF];
}

export function describeRef(info: OutputRefInfo): string {
  return `${info.step}.out${info.path.map((key) => `.${key}`).join('')}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Every output reference inside a value (plain objects and arrays are walked). */
export function collectRefs(value: unknown, found: OutputRefInfo[] = []): OutputRefInfo[] {
  if (isOutputRef(value)) {
    found.push(refInfo(value));
  } else if (Array.isArray(value)) {
    for (const item of value) collectRefs(item, found);
  } else if (isPlainObject(value)) {
    for (const item of Object.values(value)) collectRefs(item, found);
  }
  return found;
}

/** Every secret reference inside a value. */
export function collectSecrets(value: unknown, found: SecretRef[] = []): SecretRef[] {
  if (isSecretRef(value)) found.push(value);
  else if (isOutputRef(value)) return found;
  else if (Array.isArray(value)) for (const item of value) collectSecrets(item, found);
  else if (isPlainObject(value)) for (const item of Object.values(value)) collectSecrets(item, found);
  return found;
}

/**
 * Reads the value at a reference's path in the producing step's output. `consumer` is the step that
 * takes the value: a missing field is its mistake, not the producer's.
 */
export function readRef(info: OutputRefInfo, output: unknown, consumer?: string): unknown {
  let current = output;
  for (const [i, key] of info.path.entries()) {
    if (current === null || typeof current !== 'object' || !(key in current)) {
      const field = info.path.slice(0, i + 1).join('.');
      const who = consumer ? `step '${consumer}' uses` : 'the pipeline uses';
      const fields =
        current !== null && typeof current === 'object' && !Array.isArray(current)
          ? Object.keys(current)
          : [];
      throw new VnfpipeError(
        'STEP_FAILED',
        `${who} ${describeRef(info)}, but the output of step '${info.step}' has no field '${field}'`,
        {
          ...(info.site ? { where: info.site } : consumer ? { where: `step ${consumer}` } : {}),
          hint: fields.length
            ? `its fields there: ${fields.join(', ')}`
            : 'check the property name against the step kind’s output type',
        },
      );
    }
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

export interface ResolveEnv {
  outputOf(step: string): unknown;
  env: Readonly<Record<string, string | undefined>>;
  /** The step whose options are resolved (named when a referenced field is missing). */
  consumer?: string;
  /** Called with each secret value resolved, so it can be masked. */
  onSecret(value: string): void;
  /** Replaces secret resolution (planning uses a placeholder: no secret is read before run time). */
  secretValue?(ref: SecretRef): string;
}

/** Replaces references by values and secrets by their run-time value. */
export function resolveValue(value: unknown, resolver: ResolveEnv): unknown {
  if (isOutputRef(value)) {
    const info = refInfo(value);
    return readRef(info, resolver.outputOf(info.step), resolver.consumer);
  }
  if (isSecretRef(value)) {
    const resolved = resolver.secretValue ? resolver.secretValue(value) : resolveSecret(value, resolver.env);
    resolver.onSecret(resolved);
    return resolved;
  }
  if (Array.isArray(value)) return value.map((item) => resolveValue(item, resolver));
  if (isPlainObject(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, resolveValue(item, resolver)]),
    );
  }
  return value;
}

/**
 * A stable description of options for cache keys: references become their resolved values (when given),
 * secrets their names — never their values.
 */
export function canonicalOptions(value: unknown, outputOf?: (step: string) => unknown): unknown {
  if (isOutputRef(value)) {
    const info = refInfo(value);
    return outputOf ? { $value: readRef(info, outputOf(info.step)) } : { $output: describeRef(info) };
  }
  if (isSecretRef(value)) return { $secret: value.name };
  if (typeof value === 'function') return { $function: value.toString() };
  if (Array.isArray(value)) return value.map((item) => canonicalOptions(item, outputOf));
  if (isPlainObject(value)) {
    const keys = Object.keys(value).sort();
    return Object.fromEntries(keys.map((key) => [key, canonicalOptions(value[key], outputOf)]));
  }
  if (Buffer.isBuffer(value)) return { $bytes: value.toString('base64') };
  return value;
}
