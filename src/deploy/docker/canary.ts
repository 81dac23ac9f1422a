/** An isolated copy of a workload's container (no networks), to watch its start and its stop on SIGTERM. */
import type { CanaryResult } from '../../verify/runtime.js';
import { infraError } from '../../verify/runtime.js';
import { demultiplex } from '../engine/client.js';
import { inspectContainer, putArchive, removeContainer, stopContainer } from './engine-ops.js';
import { type DockerProbeRuntime, verifyLabels } from './probe-runtime.js';

export async function canaryRun(
  runtime: DockerProbeRuntime,
  check: 'sigterm' | 'startup-time',
): Promise<CanaryResult> {
  const original = await runtime.engine.json<{
    Config: Record<string, unknown>;
    HostConfig: Record<string, unknown>;
  }>({
    path: `/containers/${encodeURIComponent(runtime.container)}/json`,
  });
  const name = `vnfcanary-${runtime.release.name}-${Date.now().toString(36)}`;
  const grace = 10;
  const config = original.Config as {
    Image: string;
    Entrypoint?: string[];
    Cmd?: string[];
    Env?: string[];
    User?: string;
    WorkingDir?: string;
  };
  await runtime.engine
    .call({
      method: 'POST',
      path: '/containers/create',
      query: { name },
      body: {
        Image: config.Image,
        Entrypoint: config.Entrypoint,
        Cmd: config.Cmd,
        Env: config.Env,
        User: config.User,
        WorkingDir: config.WorkingDir,
        Labels: verifyLabels('canary', runtime.release.name),
        StopTimeout: grace,
        HostConfig: {
          NetworkMode: 'none',
          CapAdd: (original.HostConfig as { CapAdd?: string[] }).CapAdd ?? [],
        },
      },
    })
    .catch((error) => {
      throw infraError(`canary container ${name} cannot be created`, runtime.release.name, error);
    });
  try {
    // Files the deploy copied in (rule files) are part of what lets the workload start.
    const archive = await runtime.engine
      .raw({ path: `/containers/${encodeURIComponent(runtime.container)}/archive`, query: { path: '/etc' } })
      .catch(() => undefined);
    if (archive) {
      const chunks: Buffer[] = [];
      for await (const chunk of archive) chunks.push(chunk as Buffer);
      await putArchive(runtime.engine, name, Buffer.concat(chunks));
    }
    const started = Date.now();
    await runtime.engine.call({ method: 'POST', path: `/containers/${name}/start` });
    let firstLogMs: number | undefined;
    for (let waited = 0; waited < 10_000; waited += 50) {
      if ((await runtime.logs(1, name).catch(() => '')) !== '') {
        firstLogMs = Date.now() - started;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (check === 'startup-time') {
      const onEngine = firstLogMs === undefined ? undefined : await engineStartupMs(runtime, name);
      return { check, firstLogMs: onEngine ?? firstLogMs };
    }
    const stopAt = Date.now();
    await stopContainer(runtime.engine, name, grace);
    const stoppedMs = Date.now() - stopAt;
    const state = await inspectContainer(runtime.engine, name);
    const code = state?.State.ExitCode ?? -1;
    return { check, killed: code === 137, stoppedMs, exitCode: code, graceSeconds: grace };
  } finally {
    await removeContainer(runtime.engine, name);
  }
}

/**
 * The time from start to the first log line by the engine's own clock (StartedAt, the line's timestamp), so
 * a remote engine's round trips (TLS, an SSH channel per request) do not count as the workload's start.
 */
async function engineStartupMs(runtime: DockerProbeRuntime, name: string): Promise<number | undefined> {
  try {
    const state = await inspectContainer(runtime.engine, name);
    const res = await runtime.engine.raw({
      path: `/containers/${encodeURIComponent(name)}/logs`,
      query: { stdout: 1, stderr: 1, timestamps: 1 },
    });
    const { stdout, stderr } = await demultiplex(res);
    const stamps = `${stdout}\n${stderr}`
      .split('\n')
      .map((line) => engineTime(line.split(' ')[0] ?? ''))
      .filter((t): t is number => t !== undefined);
    const started = engineTime(state?.State.StartedAt ?? '');
    if (started === undefined || stamps.length === 0) return undefined;
    return Math.max(0, Math.round(Math.min(...stamps) - started));
  } catch {
    return undefined;
  }
}

/** RFC 3339 with nanoseconds (the engine's form) → ms since the epoch, fractions kept. */
function engineTime(text: string): number | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!m) return undefined;
  const whole = Date.parse(`${m[1]}${m[3]}`);
  return Number.isNaN(whole) ? undefined : whole + Number(`0.${m[2] ?? '0'}`) * 1000;
}
