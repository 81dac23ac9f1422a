/** Composes the image config of a build from the base's config and the caller's settings. */

import { VnfpipeError } from '../errors.js';
import type { ContainerConfig, HealthcheckConfig, HistoryEntry, ImageConfig } from '../oci/config.js';
import type { Digest } from '../oci/digest.js';
import type { Platform } from '../oci/platform.js';
import type { HealthcheckSpec, ImageConfigSpec } from './types.js';

/** `1970-01-01T00:00:00Z` style, as Docker and umoci write it. */
export function isoTime(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

function mergeEnv(
  base: string[] | undefined,
  extra: Record<string, string> | undefined,
): string[] | undefined {
  if (!extra) return base;
  const order: string[] = [];
  const values = new Map<string, string>();
  for (const item of base ?? []) {
    const eq = item.indexOf('=');
    const key = eq === -1 ? item : item.slice(0, eq);
    if (!values.has(key)) order.push(key);
    values.set(key, eq === -1 ? '' : item.slice(eq + 1));
  }
  for (const [key, value] of Object.entries(extra)) {
    if (key === '' || key.includes('=')) {
      throw new VnfpipeError('PIPELINE_INVALID', `invalid environment variable name ${JSON.stringify(key)}`, {
        where: 'env',
      });
    }
    if (!values.has(key)) order.push(key);
    values.set(key, value);
  }
  return order.map((key) => `${key}=${values.get(key)}`);
}

function portKey(port: number | string): string {
  const text = String(port);
  const [num, proto = 'tcp', ...rest] = text.split('/');
  const n = Number(num);
  if (
    rest.length > 0 ||
    !Number.isInteger(n) ||
    n < 1 ||
    n > 65535 ||
    !['tcp', 'udp', 'sctp'].includes(proto)
  ) {
    throw new VnfpipeError('PIPELINE_INVALID', `invalid port ${JSON.stringify(port)}`, {
      where: 'exposedPorts',
      hint: 'write 8080 or "5000/udp"',
    });
  }
  return `${n}/${proto}`;
}

function healthcheck(spec: HealthcheckSpec): HealthcheckConfig {
  const test = typeof spec.test === 'string' ? ['CMD-SHELL', spec.test] : spec.test;
  const first = test[0];
  const out: HealthcheckConfig = {
    Test: first === 'CMD' || first === 'CMD-SHELL' || first === 'NONE' ? test : ['CMD', ...test],
  };
  const ns = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms * 1e6));
  if (spec.intervalMs !== undefined) out.Interval = ns(spec.intervalMs);
  if (spec.timeoutMs !== undefined) out.Timeout = ns(spec.timeoutMs);
  if (spec.startPeriodMs !== undefined) out.StartPeriod = ns(spec.startPeriodMs);
  if (spec.retries !== undefined) out.Retries = spec.retries;
  return out;
}

function runtimeConfig(base: ContainerConfig | undefined, spec: ImageConfigSpec): ContainerConfig {
  const out: ContainerConfig = { ...base };
  if (spec.entrypoint) {
    out.Entrypoint = spec.entrypoint;
    // Like a Dockerfile ENTRYPOINT: the base's CMD was written for the base's entrypoint.
    if (!spec.cmd) delete out.Cmd;
  }
  if (spec.cmd) out.Cmd = spec.cmd;
  const env = mergeEnv(base?.Env, spec.env);
  if (env) out.Env = env;
  if (spec.workingDir !== undefined) out.WorkingDir = spec.workingDir;
  if (spec.user !== undefined) out.User = spec.user;
  if (spec.exposedPorts) {
    const ports: Record<string, object> = { ...base?.ExposedPorts };
    for (const port of spec.exposedPorts) ports[portKey(port)] = {};
    out.ExposedPorts = ports;
  }
  if (spec.labels) out.Labels = { ...base?.Labels, ...spec.labels };
  if (spec.stopSignal !== undefined) out.StopSignal = spec.stopSignal;
  if (spec.volumes) {
    const volumes: Record<string, object> = { ...base?.Volumes };
    for (const volume of spec.volumes) volumes[volume] = {};
    out.Volumes = volumes;
  }
  if (spec.healthcheck) out.Healthcheck = healthcheck(spec.healthcheck);
  return out;
}

export function composeConfig(input: {
  base: ImageConfig | undefined;
  spec: ImageConfigSpec;
  platform: Platform;
  created: string;
  diffIds: Digest[];
  history: HistoryEntry[];
}): ImageConfig {
  const { base, spec, platform } = input;
  const config: ImageConfig = {
    created: input.created,
    architecture: platform.architecture,
    os: platform.os,
    rootfs: { type: 'layers', diff_ids: [...(base?.rootfs.diff_ids ?? []), ...input.diffIds] },
  };
  const author = spec.author ?? base?.author;
  if (author) config.author = author;
  if (platform.variant) config.variant = platform.variant;
  config.config = runtimeConfig(base?.config, spec);
  config.history = [...(base?.history ?? []), ...input.history];
  return config;
}
