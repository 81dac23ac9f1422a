/** CNF-style runtime checks: zombies, process types, logs, and a canary copy for SIGTERM and start-up time. */
import {
  inspectContainer,
  putArchive,
  removeContainer,
  stopContainer,
} from '../../deploy/docker/engine-ops.js';
import { type DockerProbeRuntime, infraError, verifyLabels } from '../docker-runtime.js';
import type { ProbeSpec } from '../probes.js';
import type { ProbeOutcome } from '../run.js';

export async function cnfCheck(
  runtime: DockerProbeRuntime,
  spec: Extract<ProbeSpec, { kind: 'cnf' }>,
): Promise<ProbeOutcome> {
  switch (spec.check) {
    case 'no-zombies': {
      const zombies = (await runtime.processes()).filter((p) => p.stat.startsWith('Z'));
      return {
        passed: zombies.length === 0,
        evidence: zombies.length
          ? `zombies: ${zombies.map((z) => `${z.pid} ${z.comm}`).join(', ')}`
          : 'no zombie processes',
      };
    }
    case 'single-process-type': {
      const kinds = [...new Set((await runtime.processes()).map((p) => p.comm))];
      return { passed: kinds.length === 1, evidence: `process types: ${kinds.join(', ')}` };
    }
    case 'logs-to-stdout': {
      const logs = await runtime.logs(20);
      return {
        passed: logs.length > 0,
        evidence: logs ? `last line: ${logs.split('\n').at(-1)}` : 'nothing on stdout/stderr',
      };
    }
    case 'sigterm':
    case 'startup-time':
      return canaryCheck(runtime, spec);
  }
}

/** Starts an isolated copy of the workload (no networks) to watch its start and its stop on SIGTERM. */
export async function canaryCheck(
  runtime: DockerProbeRuntime,
  spec: Extract<ProbeSpec, { kind: 'cnf' }>,
): Promise<ProbeOutcome> {
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
    if (spec.check === 'startup-time') {
      const max = spec.maxStartupMs ?? 5000;
      return {
        passed: firstLogMs !== undefined && firstLogMs <= max,
        evidence:
          firstLogMs === undefined
            ? 'no log line within 10s of start'
            : `first log line ${firstLogMs}ms after start (limit ${max}ms)`,
      };
    }
    const stopAt = Date.now();
    await stopContainer(runtime.engine, name, grace);
    const stoppedMs = Date.now() - stopAt;
    const state = await inspectContainer(runtime.engine, name);
    const code = state?.State.ExitCode ?? -1;
    const killed = code === 137;
    return {
      passed: !killed,
      evidence: killed
        ? `ignored SIGTERM: killed after the ${grace}s grace period`
        : `stopped ${stoppedMs}ms after SIGTERM with exit code ${code}`,
    };
  } finally {
    await removeContainer(runtime.engine, name);
  }
}
