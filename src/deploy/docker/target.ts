/**
 * The `docker` target: one container per revision (`<name>-r<N>`), every declared network attached before
 * start, management first. Updates start the new revision and keep the old one until verify passes
 * (`start-first`), or stop the old one first when both cannot run at once (`recreate`: static addresses,
 * fixed host ports). Old revisions stay as stopped containers so a rollback is a restart.
 */
import { VnfpipeError } from '../../errors.js';
import { parseRegistryReference } from '../../oci/reference.js';
import type { Release } from '../../pipeline/kinds.js';
import { probeBinary } from '../../verify/tool.js';
import { DockerEngine, EngineError } from '../engine/client.js';
import { ReleaseStore, type Revision, rollbackTargetOf, specHash } from '../history.js';
import { LABEL } from '../labels.js';
import { validateWorkload, type Workload } from '../model.js';
import type { DeployTarget, RollbackOptions, TargetStatus } from '../target.js';
import {
  containerLogs,
  ensureNetwork,
  explainDriverFailure,
  imagePresent,
  inspectContainer,
  listContainers,
  pullImage,
  removeContainer,
  startContainer,
  stopContainer,
} from './engine-ops.js';
import { deliverFiles } from './files.js';
import { checkFreeHugepages } from './host.js';
import { workloadIdentity } from './identity.js';
import { DockerProbeRuntime } from './probe-runtime.js';
import { containerPlan, dockerProblems, orderedNetworks } from './spec.js';

export type UpdateStrategy = 'start-first' | 'recreate';

export interface DockerDeployOptions {
  strategy?: UpdateStrategy;
  /** Registry credentials for pulling the image. */
  auth?: { username: string; password: string };
  /** How long the new revision may take to run (and be healthy, when it has a health command). */
  readyTimeoutMs?: number;
  /** How long it must keep running before it counts as started (catches crashes at start). Default 1s. */
  minReadyMs?: number;
  /** What relative `oci:` layout paths are relative to (the project). Default: the current directory. */
  cwd?: string;
  /** Stopped revisions kept for rollback. */
  keep?: number;
  runId?: string;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

const containerName = (name: string, revision: number) => `${name}-r${revision}`;

export class DockerTarget implements DeployTarget<DockerDeployOptions> {
  readonly kind = 'docker';
  readonly store: ReleaseStore;

  constructor(
    private readonly stateDir: string,
    readonly engine: DockerEngine = new DockerEngine(),
    /** Set for a named engine or context: its release history is its own. */
    scope?: string,
  ) {
    this.store = new ReleaseStore(stateDir, 'docker', scope);
  }

  async deploy(workload: Workload, options: DockerDeployOptions = {}): Promise<Release> {
    validateWorkload(workload);
    const problems = dockerProblems(workload);
    if (problems.length) {
      throw new VnfpipeError(
        'PIPELINE_INVALID',
        `workload ${workload.name} cannot run on the docker target as declared:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
        { where: `workload ${workload.name}` },
      );
    }
    const log = options.log ?? (() => {});
    return this.store.withLock(workload.name, async () => {
      await this.repair(workload.name, log);
      for (const net of orderedNetworks(workload)) {
        if (net.driver === 'host' || net.driver === 'none') continue;
        const result = await ensureNetwork(this.engine, workload, net);
        if (result === 'created')
          log(
            `network ${net.dockerName} (${net.driver ?? 'bridge'}${net.internal ? ', internal' : ''}) created`,
          );
      }
      const engineImage = await this.ensureImage(workload.image, options, log);
      if (workload.resources?.hugepages) await checkFreeHugepages(workload.resources.hugepages);

      const current = await this.running(workload.name);
      const hash = specHash(workload);
      if (
        current &&
        current.specHash === hash &&
        (current.status === 'deployed' || current.status === 'verified')
      ) {
        log(`revision ${current.revision} already runs this spec: nothing to deploy`);
        return this.release(workload, current.revision, undefined);
      }
      const revision = await this.store.begin(workload, options.runId);

      const strategy = options.strategy ?? defaultStrategy(workload);
      if (strategy === 'recreate' && current) {
        log(`stopping revision ${current.revision} first (recreate: the revisions cannot run side by side)`);
        await stopContainer(
          this.engine,
          containerName(workload.name, current.revision),
          workload.stopGracePeriod ?? 10,
        );
      }
      try {
        await this.createAndStart(workload, engineImage, revision, hash, log);
        await this.waitReady(
          workload,
          revision,
          options.readyTimeoutMs ?? 60_000,
          options.minReadyMs ?? 1000,
          options.signal,
        );
      } catch (error) {
        await removeContainer(this.engine, containerName(workload.name, revision));
        await this.store.update(workload.name, revision, 'failed', firstLine(error));
        if (strategy === 'recreate' && current) {
          log(`restarting revision ${current.revision} after the failed deploy`);
          await startContainer(this.engine, containerName(workload.name, current.revision), current.workload);
        }
        throw error;
      }
      await this.store.update(workload.name, revision, 'deployed');
      log(`revision ${revision} running as ${containerName(workload.name, revision)}`);
      return this.release(workload, revision, current?.revision);
    });
  }

  /** After verify passed: the new revision is verified, the one before it stops (kept for rollback). */
  async promote(release: Release, log: (line: string) => void = () => {}): Promise<void> {
    await this.store.withLock(release.name, async () => {
      const history = await this.store.read(release.name);
      for (const entry of history.revisions) {
        if (entry.revision === release.revision) continue;
        const container = await inspectContainer(this.engine, containerName(release.name, entry.revision));
        if (container?.State.Running) {
          log(`stopping revision ${entry.revision}, replaced by ${release.revision}`);
          await stopContainer(
            this.engine,
            container.Name.replace(/^\//, ''),
            entry.workload.stopGracePeriod ?? 10,
          );
        }
        if (entry.status === 'verified') await this.store.update(release.name, entry.revision, 'superseded');
      }
      await this.store.update(release.name, release.revision, 'verified');
      await this.prune(release.name, 3);
    });
  }

  /**
   * Returns to an earlier revision: `to`, or the newest one that passed verify. The revisions after it are
   * removed and marked rolled back; the target revision's container is restarted (or recreated).
   */
  async rollback(name: string, options: RollbackOptions = {}): Promise<Release> {
    const log = options.log ?? (() => {});
    return this.store.withLock(name, async () => {
      const history = await this.store.read(name);
      const target = rollbackTargetOf(history.revisions, options.to);
      if (!target) {
        throw new VnfpipeError(
          'STEP_FAILED',
          options.to !== undefined
            ? `${name} has no revision ${options.to}`
            : `${name} has no earlier revision that passed verify`,
          { where: `docker target, workload ${name}`, hint: 'vnfpipe history <name> lists the revisions' },
        );
      }
      for (const entry of history.revisions) {
        if (entry.revision === target.revision) continue;
        const container = containerName(name, entry.revision);
        if (entry.revision > target.revision) {
          log(`removing revision ${entry.revision}`);
          await removeContainer(this.engine, container);
          if (entry.status !== 'abandoned' && entry.status !== 'failed')
            await this.store.update(name, entry.revision, 'rolled-back');
        } else {
          await stopContainer(this.engine, container, entry.workload.stopGracePeriod ?? 10);
        }
      }
      const existing = await inspectContainer(this.engine, containerName(name, target.revision));
      if (existing) {
        log(`restarting revision ${target.revision}`);
        await startContainer(this.engine, containerName(name, target.revision), target.workload);
      } else {
        log(`recreating revision ${target.revision} (its container was removed)`);
        const engineImage = await this.ensureImage(
          target.image,
          { ...(options.cwd ? { cwd: options.cwd } : {}) },
          log,
        );
        if (target.workload.resources?.hugepages)
          await checkFreeHugepages(target.workload.resources.hugepages);
        await this.createAndStart(target.workload, engineImage, target.revision, target.specHash, log);
      }
      await this.waitReady(target.workload, target.revision, 60_000, 1000, options.signal);
      await this.store.update(name, target.revision, 'deployed', 'restored by rollback');
      return this.release(target.workload, target.revision, undefined);
    });
  }

  async history(name: string): Promise<Array<Revision & { state: string }>> {
    const history = await this.store.read(name);
    const rows = [];
    for (const entry of history.revisions) {
      const container = await inspectContainer(this.engine, containerName(name, entry.revision));
      rows.push({ ...entry, state: container ? container.State.Status : 'removed' });
    }
    return rows;
  }

  async status(name: string): Promise<TargetStatus> {
    const running = await this.running(name);
    return running ? { revision: running.revision, state: 'running' } : { state: 'not running' };
  }

  async probeRuntime(release: Release): Promise<DockerProbeRuntime> {
    return new DockerProbeRuntime(this.engine, release, await probeBinary(this.stateDir));
  }

  /** Removes every container of the workload (with its volumes) and the networks vnfpipe created for it. */
  async destroy(workload: Workload): Promise<void> {
    for (const container of await listContainers(this.engine, [`${LABEL.workload}=${workload.name}`])) {
      await removeContainer(this.engine, container.Id);
    }
    // Volumes go with their containers; these are what a killed run left unattached.
    const { Volumes } = await this.engine.json<{ Volumes: Array<{ Name: string }> | null }>({
      path: '/volumes',
      query: {
        filters: JSON.stringify({ label: [`${LABEL.workload}=${workload.name}`], dangling: ['true'] }),
      },
    });
    for (const volume of Volumes ?? []) {
      await this.engine.call({
        method: 'DELETE',
        path: `/volumes/${encodeURIComponent(volume.Name)}`,
        accept: [404, 409],
      });
    }
    for (const net of orderedNetworks(workload)) {
      if (net.external || net.driver === 'host' || net.driver === 'none') continue;
      await this.engine.call({
        method: 'DELETE',
        path: `/networks/${encodeURIComponent(net.dockerName)}`,
        accept: [404, 403, 409],
      });
    }
  }

  /** The revision whose container runs now (newest first). */
  private async running(name: string): Promise<Revision | undefined> {
    const history = await this.store.read(name);
    for (const entry of [...history.revisions].reverse()) {
      const container = await inspectContainer(this.engine, containerName(name, entry.revision));
      if (container?.State.Running) return entry;
    }
    return undefined;
  }

  /**
   * Repairs what a killed run left: a pending revision's container is removed and the revision marked
   * abandoned; containers of the workload that no revision accounts for are removed.
   */
  private async repair(name: string, log: (line: string) => void): Promise<void> {
    const history = await this.store.read(name);
    let changed = false;
    for (const entry of history.revisions) {
      if (entry.status !== 'pending') continue;
      log(`revision ${entry.revision} was left pending by an interrupted run: removing it`);
      await removeContainer(this.engine, containerName(name, entry.revision));
      entry.status = 'abandoned';
      entry.updatedAt = new Date().toISOString();
      entry.note = 'left pending by an interrupted run';
      changed = true;
    }
    if (changed) await this.store.write(history);
    const known = new Set(
      history.revisions.filter((r) => r.status !== 'abandoned').map((r) => String(r.revision)),
    );
    for (const container of await listContainers(this.engine, [`${LABEL.workload}=${name}`])) {
      if (!known.has(container.Labels[LABEL.revision] ?? '')) {
        log(`removing orphan container ${container.Names[0]?.replace(/^\//, '')}`);
        await removeContainer(this.engine, container.Id);
      }
    }
  }

  /** Makes the image available to the engine; returns how the engine names it. */
  private async ensureImage(
    image: string,
    options: DockerDeployOptions,
    log: (line: string) => void,
  ): Promise<string> {
    if (image.startsWith('oci:')) {
      const { loadLayoutImage } = await import('./load.js');
      return loadLayoutImage(this.engine, image, options.cwd ?? process.cwd(), log);
    }
    if (await imagePresent(this.engine, image)) return image;
    if (!image.includes('@sha256:')) {
      throw new VnfpipeError('PIPELINE_INVALID', `image ${image} is not pinned by digest`, {
        hint: 'deploy the output of a push step (registry/repo@sha256:…) so every revision is reproducible',
      });
    }
    const registry = parseRegistryReference(image).registry;
    log(`pulling ${image}`);
    await pullImage(
      this.engine,
      image,
      options.auth ? { ...options.auth, serveraddress: registry } : undefined,
      (status) => log(status),
      options.signal,
    );
    return image;
  }

  private async createAndStart(
    workload: Workload,
    engineImage: string,
    revision: number,
    hash: string,
    log: (line: string) => void,
  ) {
    // The user owns the config files and the hugetlbfs mount: resolve it only when one is declared.
    const identity =
      workload.files?.length || workload.resources?.hugepages
        ? await workloadIdentity(this.engine, workload.name, engineImage, workload.security?.user)
        : undefined;
    const plan = containerPlan(workload, revision, engineImage, hash, identity);
    await removeContainer(this.engine, plan.name);
    try {
      await this.engine.call({
        method: 'POST',
        path: '/containers/create',
        query: { name: plan.name },
        body: plan.body,
      });
      for (const extra of plan.connect) {
        await this.engine.call({
          method: 'POST',
          path: `/networks/${encodeURIComponent(extra.network)}/connect`,
          body: { Container: plan.name, EndpointConfig: extra.endpoint },
        });
      }
    } catch (error) {
      throw explainDriverFailure(error, workload);
    }
    await deliverFiles(this.engine, plan.name, workload, identity);
    await startContainer(this.engine, plan.name, workload).catch((error) => {
      throw explainHugepagesFailure(error, workload);
    });
    log(`started ${plan.name}`);
  }

  private async waitReady(
    workload: Workload,
    revision: number,
    timeoutMs: number,
    minReadyMs: number,
    signal?: AbortSignal,
  ) {
    const name = containerName(workload.name, revision);
    const started = Date.now();
    const deadline = started + timeoutMs;
    for (;;) {
      signal?.throwIfAborted();
      const state = await inspectContainer(this.engine, name);
      if (!state) throw new VnfpipeError('STEP_FAILED', `container ${name} disappeared`);
      if (!state.State.Running) {
        const logs = await containerLogs(this.engine, name).catch(() => '');
        throw new VnfpipeError(
          'STEP_FAILED',
          `revision ${revision} exited with code ${state.State.ExitCode} right after start`,
          {
            where: `container ${name}`,
            hint: logs ? `its last output:\n${logs}` : undefined,
          },
        );
      }
      const health = state.State.Health?.Status;
      const settled = Date.now() - started >= minReadyMs;
      if (settled && (!workload.health || health === 'healthy')) return;
      if (health === 'unhealthy' || Date.now() > deadline) {
        const last = state.State.Health?.Log?.at(-1);
        throw new VnfpipeError(
          'STEP_FAILED',
          `revision ${revision} is ${health ?? 'not ready'} after ${Math.round(timeoutMs / 1000)}s`,
          {
            where: `container ${name}`,
            hint: last ? `health check exit ${last.ExitCode}: ${last.Output.trim()}` : undefined,
          },
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Keeps the newest `keep` stopped revisions besides the running one. */
  private async prune(name: string, keep: number): Promise<void> {
    const history = await this.store.read(name);
    const stopped = history.revisions.filter((r) => r.status !== 'verified').map((r) => r.revision);
    for (const revision of stopped.slice(0, Math.max(0, stopped.length - keep))) {
      await removeContainer(this.engine, containerName(name, revision));
    }
  }

  private release(workload: Workload, revision: number, previous: number | undefined): Release {
    return {
      target: 'docker',
      name: workload.name,
      revision,
      image: workload.image,
      ...(previous !== undefined ? { previous } : {}),
      instances: [containerName(workload.name, revision)],
      networks: Object.fromEntries(orderedNetworks(workload).map((net) => [net.role, net.dockerName])),
      endpoint: this.engine.endpoint.display,
    };
  }
}

/** Both revisions can run side by side only without static addresses or fixed host ports. */
export function defaultStrategy(workload: Workload): UpdateStrategy {
  const fixed = (workload.networks ?? []).some((n) => n.ip || n.mac) || (workload.ports ?? []).length > 0;
  return fixed ? 'recreate' : 'start-first';
}

/** The engine mounts the workload's hugetlbfs at start: a host that cannot reserve the pages fails there. */
function explainHugepagesFailure(error: unknown, workload: Workload): unknown {
  const hp = workload.resources?.hugepages;
  if (!hp || !(error instanceof EngineError) || !/hugetlbfs|cannot allocate memory/i.test(error.message))
    return error;
  return new VnfpipeError(
    'STEP_FAILED',
    `the host cannot ${hp.reserve ? 'reserve' : 'provide'} ${hp.pages} ${hp.size} hugepages for the workload's hugetlbfs mount: ${error.message}`,
    {
      where: `workload ${workload.name}, resources.hugepages`,
      hint: 'free or add hugepages on the engine host (nr_hugepages), or declare fewer',
    },
  );
}

function firstLine(error: unknown): string {
  return ((error as Error)?.message ?? String(error)).split('\n')[0]!;
}
