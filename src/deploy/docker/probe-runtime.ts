/**
 * The docker and swarm targets' probe runtime: what probes need from a Docker-engine deployment: addresses per role, exec, process lists, logs, and
 * short-lived probe containers (with vnfprobe copied in) on the workload's networks.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { VnfpipeError } from '../../errors.js';
import { isAlive } from '../../pipeline/journal.js';
import type { Release } from '../../pipeline/kinds.js';
import {
  type CanaryResult,
  type ExecResult,
  infraError,
  type ProbeHandle,
  type ProbeRuntime,
} from '../../verify/runtime.js';
import { type DockerEngine, demultiplex } from '../engine/client.js';
import { LABEL } from '../labels.js';
import { canaryRun } from './canary.js';
import {
  containerLogs,
  inspectContainer,
  listContainers,
  putArchive,
  removeContainer,
  tarOf,
} from './engine-ops.js';

/** Labels on verify's own containers: the workload they are for, and the process that owns them. */
export const VERIFY_LABEL = {
  probeFor: 'io.vnfpipe.probe-for',
  canaryFor: 'io.vnfpipe.canary-for',
  owner: 'io.vnfpipe.verify-owner',
} as const;

/** The labels of a probe or canary container of `workload`, owned by this process. */
export function verifyLabels(kind: 'probe' | 'canary', workload: string): Record<string, string> {
  return {
    [LABEL.managed]: 'true',
    [kind === 'probe' ? VERIFY_LABEL.probeFor : VERIFY_LABEL.canaryFor]: workload,
    [VERIFY_LABEL.owner]: `${process.pid}@${hostname()}`,
  };
}

/**
 * Removes the probe and canary containers of `workload` that a killed verify left behind: they hold the
 * addresses the next verify's probes need. Containers of a verify still running (its process alive on this
 * host, or on another host) are left alone.
 */
export async function removeVerifyLeftovers(
  engine: DockerEngine,
  workload: string,
  log: (line: string) => void,
): Promise<void> {
  try {
    for (const label of [VERIFY_LABEL.probeFor, VERIFY_LABEL.canaryFor]) {
      for (const container of await listContainers(engine, [`${label}=${workload}`])) {
        const [pid, host] = (container.Labels[VERIFY_LABEL.owner] ?? '').split('@');
        if (host !== undefined && (host !== hostname() || isAlive(Number(pid)))) continue;
        log(`removing ${container.Names[0]?.replace(/^\//, '')}, left by an interrupted verify`);
        await removeContainer(engine, container.Id);
      }
    }
  } catch (error) {
    throw infraError('cannot remove the probe containers an interrupted verify left', workload, error);
  }
}

/** Probes against containers on a Docker engine (the docker target's, or a swarm's local tasks). */
export class DockerProbeRuntime implements ProbeRuntime {
  constructor(
    readonly engine: DockerEngine,
    readonly release: Release,
    private readonly probeBinary: string,
  ) {}

  get container(): string {
    return this.release.instances[0]!;
  }

  async isRunning(container: string): Promise<boolean> {
    return (await inspectContainer(this.engine, container))?.State.Running ?? false;
  }

  /** The image the workload's container runs (probe containers use it: it is on the engine already). */
  async image(): Promise<string> {
    const state = await inspectContainer(this.engine, this.container);
    return state?.Config.Image ?? this.release.image;
  }

  async address(role: string | undefined): Promise<string> {
    const state = await inspectContainer(this.engine, this.container);
    if (!state) throw new VnfpipeError('STEP_FAILED', `container ${this.container} is gone`);
    const roles = Object.keys(this.release.networks);
    const wanted = role ?? roles[0];
    const network = wanted ? this.release.networks[wanted] : undefined;
    const address = network ? state.NetworkSettings.Networks[network]?.IPAddress : undefined;
    if (!address) {
      throw new VnfpipeError(
        'STEP_FAILED',
        `${this.container} has no address on role '${wanted ?? '(none)'}'`,
        {
          hint: `roles: ${roles.join(', ') || 'none'}`,
        },
      );
    }
    return address;
  }

  async exec(command: string[], container = this.container): Promise<ExecResult> {
    const created = await this.engine.json<{ Id: string }>({
      method: 'POST',
      path: `/containers/${encodeURIComponent(container)}/exec`,
      body: { Cmd: command, AttachStdout: true, AttachStderr: true },
    });
    const stream = await this.engine.raw({
      method: 'POST',
      path: `/exec/${created.Id}/start`,
      body: { Detach: false, Tty: false },
    });
    const { stdout, stderr } = await demultiplex(stream);
    const info = await this.engine.json<{ ExitCode: number | null }>({ path: `/exec/${created.Id}/json` });
    return { exitCode: info.ExitCode ?? -1, stdout, stderr };
  }

  /** Processes of the workload as the host's ps sees them (no tools needed in the image). */
  async processes(): Promise<Array<{ pid: string; stat: string; comm: string }>> {
    const top = await this.engine.json<{ Titles: string[]; Processes: string[][] }>({
      path: `/containers/${encodeURIComponent(this.container)}/top`,
      query: { ps_args: '-o pid,stat,comm' },
    });
    const col = (name: string) => top.Titles.findIndex((t) => t.toUpperCase() === name);
    const [pid, stat, comm] = [col('PID'), col('STAT'), col('COMMAND')];
    return top.Processes.map((row) => ({
      pid: row[pid] ?? '',
      stat: row[stat] ?? '',
      comm: row[comm === -1 ? row.length - 1 : comm] ?? '',
    }));
  }

  logs(tail = 50, container = this.container): Promise<string> {
    return containerLogs(this.engine, container, tail);
  }

  canary(check: 'sigterm' | 'startup-time'): Promise<CanaryResult> {
    return canaryRun(this, check);
  }

  removeLeftovers(log: (line: string) => void): Promise<void> {
    return removeVerifyLeftovers(this.engine, this.release.name, log);
  }

  /**
   * Runs vnfprobe in a throwaway container attached to a network of the workload (or sharing the
   * workload's network namespace) and returns its output when it exits, or a handle when `detach`.
   */
  async probeContainer(options: {
    image: string;
    args: string[];
    network?: string;
    ip?: string;
    /** Join the workload's own network namespace (to look at its interfaces). */
    shareWith?: string;
  }): Promise<ProbeHandle> {
    const name = `vnfprobe-${this.release.name}-${randomBytes(3).toString('hex')}`;
    const networkMode = options.shareWith ? `container:${options.shareWith}` : (options.network ?? 'none');
    const remove = () => removeContainer(this.engine, name);
    // A probe container that cannot be set up is our failure (or the engine's), not the workload's —
    // unless it was to join the namespace of a workload container that has stopped.
    try {
      await this.engine.call({
        method: 'POST',
        path: '/containers/create',
        query: { name },
        body: {
          Image: options.image,
          Entrypoint: ['/vnfprobe'],
          Cmd: options.args,
          Labels: verifyLabels('probe', this.release.name),
          HostConfig: { NetworkMode: networkMode, AutoRemove: false },
          ...(options.network && options.ip
            ? {
                NetworkingConfig: {
                  EndpointsConfig: { [options.network]: { IPAMConfig: { IPv4Address: options.ip } } },
                },
              }
            : {}),
        },
      });
      const binary = await readFile(this.probeBinary);
      await putArchive(this.engine, name, await tarOf([{ path: '/vnfprobe', data: binary, mode: 0o755 }]));
      await this.engine.call({ method: 'POST', path: `/containers/${name}/start` });
    } catch (error) {
      await remove().catch(() => {});
      if (options.shareWith && !(await this.isRunning(options.shareWith).catch(() => true))) {
        throw new VnfpipeError(
          'STEP_FAILED',
          `the workload's container ${options.shareWith} is not running`,
          {
            where: `verify of ${this.release.name}`,
          },
        );
      }
      throw infraError(
        `probe container ${name} (on ${options.network ?? networkMode}) cannot start`,
        this.release.name,
        error,
      );
    }
    const wait = async (timeoutMs: number): Promise<ExecResult> => {
      const { body } = await this.engine.call<{ StatusCode: number }>({
        method: 'POST',
        path: `/containers/${name}/wait`,
        timeoutMs,
      });
      const res = await this.engine.raw({
        path: `/containers/${name}/logs`,
        query: { stdout: 1, stderr: 1 },
      });
      const { stdout, stderr } = await demultiplex(res);
      return { exitCode: body.StatusCode, stdout, stderr };
    };
    // Ends a probe that listens (a sink) once what it listens for is over; its output stays readable. As
    // PID 1 without a handler it would ignore SIGTERM, and it flushes every line, so SIGKILL loses nothing.
    const stop = async () => {
      await this.engine.call({
        method: 'POST',
        path: `/containers/${name}/kill`,
        query: { signal: 'SIGKILL' },
        accept: [404, 409],
      });
    };
    return { name, wait, remove, stop };
  }
}
