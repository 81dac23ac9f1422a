/** The image configuration blob: runtime defaults, rootfs diff-ids and history. */
import { type Digest, parseDigest } from './digest.js';
import {
  asArray,
  asObject,
  asString,
  invalid,
  optKeySet,
  optString,
  optStringArray,
  optStringMap,
  parseJsonDocument,
} from './validate.js';

export interface HealthcheckConfig {
  Test?: string[];
  /** Nanoseconds, like Docker. */
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  Retries?: number;
}

/** Runtime defaults (`config` in the image config). Field names are the spec's. */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  /** Docker extension, honoured by docker run. */
  Healthcheck?: HealthcheckConfig;
  /** Docker extension: the shell of RUN/CMD in shell form (`SHELL` in a Dockerfile). */
  Shell?: string[];
  /** Docker extension: instructions a Dockerfile `FROM` this image runs (`ONBUILD`). */
  OnBuild?: string[];
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  config?: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: Digest[] };
  history?: HistoryEntry[];
}

function optNumber(value: unknown, path: string, where: string | undefined): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(`${path} must be a number`, where);
  return value;
}

function parseHealthcheck(value: unknown, where: string | undefined): HealthcheckConfig | undefined {
  if (value === undefined || value === null) return undefined;
  const object = asObject(value, '$.config.Healthcheck', where);
  const out: HealthcheckConfig = {};
  const test = optStringArray(object.Test, '$.config.Healthcheck.Test', where);
  if (test) out.Test = test;
  for (const key of ['Interval', 'Timeout', 'StartPeriod', 'Retries'] as const) {
    const n = optNumber(object[key], `$.config.Healthcheck.${key}`, where);
    if (n !== undefined) out[key] = n;
  }
  return out;
}

function parseContainerConfig(value: unknown, where: string | undefined): ContainerConfig | undefined {
  if (value === undefined || value === null) return undefined;
  const object = asObject(value, '$.config', where);
  const out: ContainerConfig = {};
  const set = <K extends keyof ContainerConfig>(key: K, v: ContainerConfig[K] | undefined) => {
    if (v !== undefined) out[key] = v;
  };
  set('User', optString(object.User, '$.config.User', where));
  set('ExposedPorts', optKeySet(object.ExposedPorts, '$.config.ExposedPorts', where));
  set('Env', optStringArray(object.Env, '$.config.Env', where));
  set('Entrypoint', optStringArray(object.Entrypoint, '$.config.Entrypoint', where));
  set('Cmd', optStringArray(object.Cmd, '$.config.Cmd', where));
  set('Volumes', optKeySet(object.Volumes, '$.config.Volumes', where));
  set('WorkingDir', optString(object.WorkingDir, '$.config.WorkingDir', where));
  set('Labels', optStringMap(object.Labels, '$.config.Labels', where));
  set('StopSignal', optString(object.StopSignal, '$.config.StopSignal', where));
  set('Healthcheck', parseHealthcheck(object.Healthcheck, where));
  set('Shell', optStringArray(object.Shell, '$.config.Shell', where));
  set('OnBuild', optStringArray(object.OnBuild, '$.config.OnBuild', where));
  return out;
}

function parseHistory(value: unknown, where: string | undefined): HistoryEntry[] | undefined {
  if (value === undefined || value === null) return undefined;
  return asArray(value, '$.history', where).map((item, i) => {
    const path = `$.history[${i}]`;
    const object = asObject(item, path, where);
    const entry: HistoryEntry = {};
    for (const key of ['created', 'created_by', 'author', 'comment'] as const) {
      const v = optString(object[key], `${path}.${key}`, where);
      if (v !== undefined) entry[key] = v;
    }
    if (object.empty_layer === true) entry.empty_layer = true;
    return entry;
  });
}

/** Validates an image config (OCI or Docker: same shape for the fields we use). */
export function parseImageConfig(data: string | Uint8Array, where?: string): ImageConfig {
  const object = parseJsonDocument(data, where);
  const rootfs = asObject(object.rootfs, '$.rootfs', where);
  if (rootfs.type !== 'layers') throw invalid('$.rootfs.type must be "layers"', where);
  const config: ImageConfig = {
    architecture: asString(object.architecture, '$.architecture', where),
    os: asString(object.os, '$.os', where),
    rootfs: {
      type: 'layers',
      diff_ids: asArray(rootfs.diff_ids, '$.rootfs.diff_ids', where).map((d) => parseDigest(d, where)),
    },
  };
  const created = optString(object.created, '$.created', where);
  if (created) config.created = created;
  const author = optString(object.author, '$.author', where);
  if (author) config.author = author;
  const variant = optString(object.variant, '$.variant', where);
  if (variant) config.variant = variant;
  const osVersion = optString(object['os.version'], '$.os.version', where);
  if (osVersion) config['os.version'] = osVersion;
  const runtime = parseContainerConfig(object.config, where);
  if (runtime) config.config = runtime;
  const history = parseHistory(object.history, where);
  if (history) config.history = history;
  return config;
}

/** Checks that the config's diff-ids line up with a manifest's layer count. */
export function checkLayerCount(config: ImageConfig, layerCount: number, where?: string): void {
  if (config.rootfs.diff_ids.length !== layerCount) {
    throw invalid(
      `config lists ${config.rootfs.diff_ids.length} diff_ids but the manifest has ${layerCount} layers`,
      where,
    );
  }
}
