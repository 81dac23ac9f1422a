/**
 * The `swarm` target: a workload is a replicated service on overlay networks. Updates are rolling
 * (parallelism, delay, monitor window, failure action), and the outcome is read from the service's
 * `UpdateStatus` — `docker service update` exits 0 even when the update rolled back.
 */
import { VnfpipeError } from '../../errors.js';
import { parseRegistryReference } from '../../oci/reference.js';
import type { Release } from '../../pipeline/kinds.js';
import { probeBinary } from '../../verify/tool.js';
import { DockerProbeRuntime } from '../docker/probe-runtime.js';
import { durationNs } from '../docker/spec.js';
import { DockerEngine, registryAuthHeader } from '../engine/client.js';
import { ReleaseStore, specHash } from '../history.js';
import { LABEL } from '../labels.js';
import { networkName, parseSize, validateWorkload, type Workload } from '../model.js';
import type { DeployTarget, HistoryRow, RollbackOptions, TargetStatus } from '../target.js';

export interface RollingUpdate {
  /** Tasks updated at once (default 1). */
  parallelism?: number;
  /** Pause between batches, seconds (default 0). */
  delaySeconds?: number;
  /** How long a new task is watched for failure, seconds (default 5). */
  monitorSeconds?: number;
  /** What a failed update does (default rollback). */
  failureAction?: 'rollback' | 'pause' | 'continue';
  order?: 'start-first' | 'stop-first';
}

export interface SwarmDeployOptions {
  update?: RollingUpdate;
  auth?: { username: string; password: string };
  /** How long to wait for the rollout (default 120 s). */
  timeoutMs?: number;
  runId?: string;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

interface ServiceInfo {
  ID: string;
  Version: { Index: number };
  Spec: Record<string, unknown> & {
    Labels?: Record<string, string>;
    Mode?: { Replicated?: { Replicas: number } };
  };
  UpdateStatus?: { State: string; Message?: string; StartedAt?: string };
}

interface TaskInfo {
  DesiredState: string;
  Status: { State: string; Err?: string; Message?: string };
  Spec: { ContainerSpec: { Labels?: Record<string, string> } };
}

const TERMINAL_UPDATE = new Set(['completed', 'rollback_completed', 'paused', 'rollback_paused']);

export class SwarmTarget implements DeployTarget<SwarmDeployOptions> {
  readonly kind = 'swarm';
  readonly store: ReleaseStore;

  constructor(
    private readonly stateDir: string,
    readonly engine: DockerEngine = new DockerEngine(),
    /** Set for a named engine or context: its release history is its own. */
    scope?: string,
  ) {
    this.store = new ReleaseStore(stateDir, 'swarm', scope);
  }

  async deploy(workload: Workload, options: SwarmDeployOptions = {}): Promise<Release> {
    validateWorkload(workload);
    const unsupported = swarmUnsupported(workload);
    if (unsupported.length) {
      throw new VnfpipeError(
        'PIPELINE_INVALID',
        `the swarm target cannot give workload ${workload.name} what it declares:\n${unsupported.map((p) => `  - ${p}`).join('\n')}`,
        { where: `workload ${workload.name}`, hint: 'deploy it with the docker target' },
      );
    }
    if (workload.image.startsWith('oci:')) {
      throw new VnfpipeError(
        'PIPELINE_INVALID',
        `swarm nodes pull images from a registry, not from ${workload.image}`,
        {
          where: `workload ${workload.name}`,
          hint: 'push the image first and deploy the push step’s output',
        },
      );
    }
    const log = options.log ?? (() => {});
    await this.requireSwarm();
    return this.store.withLock(workload.name, async () => {
      for (const net of workload.networks ?? []) await this.ensureOverlay(workload, net);
      const existing = await this.service(workload.name);
      const revision = await this.store.begin(workload, options.runId);
      const hash = specHash(workload);

      const spec = serviceSpec(workload, revision, hash, options.update ?? {});
      const registryAuth = options.auth
        ? {
            'X-Registry-Auth': registryAuthHeader({
              ...options.auth,
              serveraddress: parseRegistryReference(workload.image).registry,
            }),
          }
        : undefined;
      const previous = existing
        ? Number(existing.Spec.Labels?.[LABEL.revision] ?? 0) || undefined
        : undefined;
      try {
        if (!existing) {
          log(`creating service ${workload.name} (revision ${revision}, ${workload.replicas ?? 1} replicas)`);
          await this.engine.call({
            method: 'POST',
            path: '/services/create',
            body: spec,
            ...(registryAuth ? { headers: registryAuth } : {}),
          });
          await this.waitTasks(
            workload.name,
            revision,
            workload.replicas ?? 1,
            options.timeoutMs ?? 120_000,
            options.signal,
          );
        } else {
          log(`rolling update of ${workload.name} from revision ${previous ?? '?'} to ${revision}`);
          await this.engine.call({
            method: 'POST',
            path: `/services/${existing.ID}/update`,
            query: { version: existing.Version.Index },
            body: spec,
            ...(registryAuth ? { headers: registryAuth } : {}),
          });
          const previousStart = existing.UpdateStatus?.StartedAt;
          await this.waitUpdate(
            workload.name,
            revision,
            previousStart,
            options.timeoutMs ?? 120_000,
            log,
            options.signal,
          );
        }
      } catch (error) {
        await this.store.update(
          workload.name,
          revision,
          'failed',
          ((error as Error).message ?? '').split('\n')[0],
        );
        throw error;
      }
      await this.store.update(workload.name, revision, 'deployed');
      return this.release(workload, revision, previous);
    });
  }

  private release(workload: Workload, revision: number, previous: number | undefined): Release {
    return {
      target: 'swarm',
      name: workload.name,
      revision,
      image: workload.image,
      ...(previous ? { previous } : {}),
      instances: [workload.name],
      networks: Object.fromEntries(
        (workload.networks ?? []).map((net) => [net.role, networkName(workload, net)]),
      ),
      endpoint: this.engine.endpoint.display,
    };
  }

  /**
   * Returns the service to its previous spec (the swarm keeps one), as `docker service rollback` does, and
   * records the revision it is back on.
   */
  async rollback(name: string, options: RollbackOptions & { timeoutMs?: number } = {}): Promise<Release> {
    if (options.to !== undefined) {
      throw new VnfpipeError(
        'PIPELINE_INVALID',
        'a swarm service rolls back to its previous spec only: drop `to`',
      );
    }
    const log = options.log ?? (() => {});
    return this.store.withLock(name, async () => {
      const service = await this.service(name);
      if (!service)
        throw new VnfpipeError('USAGE', `no service ${name}`, { where: this.engine.endpoint.display });
      const from = Number(service.Spec.Labels?.[LABEL.revision] ?? 0);
      await this.engine.call({
        method: 'POST',
        path: `/services/${service.ID}/update`,
        query: { version: service.Version.Index, rollback: 'previous' },
        body: service.Spec,
      });
      await this.waitUpdate(
        name,
        from,
        service.UpdateStatus?.StartedAt,
        options.timeoutMs ?? 120_000,
        log,
        options.signal,
        'rollback_completed',
      );
      const after = await this.service(name);
      const to = Number(after?.Spec.Labels?.[LABEL.revision] ?? 0);
      if (from) await this.store.update(name, from, 'rolled-back');
      const restored = await this.store.update(name, to, 'deployed', 'restored by rollback');
      log(`service ${name} is back on revision ${to}`);
      return this.release(restored.workload, to, undefined);
    });
  }

  /** After verify passed: this revision is verified, earlier verified ones superseded. */
  async promote(release: Release): Promise<void> {
    await this.store.withLock(release.name, async () => {
      const history = await this.store.read(release.name);
      for (const entry of history.revisions) {
        if (entry.revision !== release.revision && entry.status === 'verified') {
          await this.store.update(release.name, entry.revision, 'superseded');
        }
      }
      await this.store.update(release.name, release.revision, 'verified');
    });
  }

  async history(name: string): Promise<HistoryRow[]> {
    const service = await this.service(name);
    const serving = Number(service?.Spec.Labels?.[LABEL.revision] ?? 0);
    return (await this.store.read(name)).revisions.map((r) => ({
      ...r,
      state: !service ? 'removed' : r.revision === serving ? 'serving' : '-',
    }));
  }

  async status(name: string): Promise<TargetStatus> {
    const service = await this.service(name);
    if (!service) return { state: 'no service' };
    return {
      revision: Number(service.Spec.Labels?.[LABEL.revision] ?? 0),
      state: service.UpdateStatus?.State ?? 'running',
    };
  }

  /** Probes reach the service through its running task containers on this engine's node. */
  async probeRuntime(release: Release): Promise<DockerProbeRuntime> {
    const instances = await this.taskContainers(release.name);
    if (instances.length === 0) {
      throw new VnfpipeError(
        'STEP_FAILED',
        `service ${release.name} has no running task on this node to probe`,
        {
          where: release.endpoint,
        },
      );
    }
    return new DockerProbeRuntime(this.engine, { ...release, instances }, await probeBinary(this.stateDir));
  }

  destroy(workload: Workload): Promise<void> {
    return this.remove(workload);
  }

  /** Containers of the service's running tasks on this engine's node, for probes. */
  async taskContainers(name: string): Promise<string[]> {
    const containers = await this.engine.json<Array<{ Names: string[] }>>({
      path: '/containers/json',
      query: {
        filters: JSON.stringify({ label: [`com.docker.swarm.service.name=${name}`], status: ['running'] }),
      },
    });
    return containers.map((c) => c.Names[0]!.replace(/^\//, ''));
  }

  /** Sets the number of replicas and waits until that many tasks run. */
  async scale(
    name: string,
    replicas: number,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<void> {
    const service = await this.service(name);
    if (!service)
      throw new VnfpipeError('USAGE', `no service ${name}`, { where: this.engine.endpoint.display });
    const spec = { ...service.Spec, Mode: { Replicated: { Replicas: replicas } } };
    await this.engine.call({
      method: 'POST',
      path: `/services/${service.ID}/update`,
      query: { version: service.Version.Index },
      body: spec,
    });
    const revision = Number(service.Spec.Labels?.[LABEL.revision] ?? 0);
    await this.waitTasks(name, revision, replicas, options.timeoutMs ?? 120_000, options.signal);
  }

  async remove(workload: Workload): Promise<void> {
    await this.engine.call({
      method: 'DELETE',
      path: `/services/${encodeURIComponent(workload.name)}`,
      accept: [404],
    });
    // Networks are released once the service's tasks are gone.
    for (let i = 0; i < 40; i++) {
      const tasks = await this.tasks(workload.name);
      if (tasks.length === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    for (const net of workload.networks ?? []) {
      if (net.external) continue;
      await this.engine.call({
        method: 'DELETE',
        path: `/networks/${encodeURIComponent(networkName(workload, net))}`,
        accept: [404, 403, 409],
      });
    }
  }

  async service(name: string): Promise<ServiceInfo | undefined> {
    const { status, body } = await this.engine.call<ServiceInfo>({
      path: `/services/${encodeURIComponent(name)}`,
      accept: [404],
    });
    return status === 404 ? undefined : body;
  }

  private async tasks(name: string): Promise<TaskInfo[]> {
    // The engine answers 404 for a filter naming a service that no longer exists: no tasks.
    const { status, body } = await this.engine.call<TaskInfo[]>({
      path: '/tasks',
      query: { filters: JSON.stringify({ service: [name] }) },
      accept: [404],
    });
    return status === 404 ? [] : body;
  }

  private async requireSwarm(): Promise<void> {
    const { status } = await this.engine.call({ path: '/swarm', accept: [503, 406] });
    if (status !== 200) {
      throw new VnfpipeError('STEP_FAILED', 'the Docker engine is not part of a swarm', {
        where: this.engine.endpoint.display,
        hint: 'docker swarm init --advertise-addr 127.0.0.1 (single node), or deploy to a swarm manager',
      });
    }
  }

  private async ensureOverlay(
    workload: Workload,
    net: NonNullable<Workload['networks']>[number],
  ): Promise<void> {
    const name = networkName(workload, net);
    const driver = net.driver ?? 'overlay';
    if (driver !== 'overlay') {
      throw new VnfpipeError(
        'PIPELINE_INVALID',
        `swarm services attach to overlay networks; role '${net.role}' asks for ${driver}`,
        {
          where: `workload ${workload.name}`,
        },
      );
    }
    const { status } = await this.engine.call({
      path: `/networks/${encodeURIComponent(name)}`,
      accept: [404],
    });
    if (status !== 404 || net.external) return;
    await this.engine.call({
      method: 'POST',
      path: '/networks/create',
      body: {
        Name: name,
        Driver: 'overlay',
        Attachable: true,
        Internal: Boolean(net.internal),
        CheckDuplicate: true,
        ...(net.subnet
          ? { IPAM: { Config: [{ Subnet: net.subnet, ...(net.gateway ? { Gateway: net.gateway } : {}) }] } }
          : {}),
        Labels: { [LABEL.managed]: 'true', [LABEL.workload]: workload.name, [LABEL.role]: net.role },
      },
    });
  }

  private async waitTasks(
    name: string,
    revision: number,
    replicas: number,
    timeoutMs: number,
    signal?: AbortSignal,
  ) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      signal?.throwIfAborted();
      const tasks = (await this.tasks(name)).filter((t) => t.DesiredState === 'running');
      const running = tasks.filter((t) => t.Status.State === 'running').length;
      if (running >= replicas) return;
      const failed = (await this.tasks(name)).find(
        (t) => t.Status.State === 'failed' || t.Status.State === 'rejected',
      );
      if (Date.now() > deadline) {
        throw new VnfpipeError(
          'STEP_FAILED',
          `service ${name} revision ${revision}: ${running}/${replicas} tasks running after ${Math.round(timeoutMs / 1000)}s`,
          {
            where: this.engine.endpoint.display,
            hint: failed
              ? `a task ${failed.Status.State}: ${failed.Status.Err ?? failed.Status.Message}`
              : undefined,
          },
        );
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  /**
   * Waits for the update started after `previousStart` to end. Until the engine records it, the service
   * still shows the previous update's (terminal) status, which must not be taken for this one's.
   */
  private async waitUpdate(
    name: string,
    revision: number,
    previousStart: string | undefined,
    timeoutMs: number,
    log: (line: string) => void,
    signal?: AbortSignal,
    success: 'completed' | 'rollback_completed' = 'completed',
  ) {
    const deadline = Date.now() + timeoutMs;
    let lastState = '';
    for (;;) {
      signal?.throwIfAborted();
      const service = await this.service(name);
      const status = service?.UpdateStatus;
      const state = status && status.StartedAt !== previousStart ? status.State : 'not started';
      if (state !== lastState) {
        log(`update ${state}${service?.UpdateStatus?.Message ? `: ${service.UpdateStatus.Message}` : ''}`);
        lastState = state;
      }
      if (TERMINAL_UPDATE.has(state)) {
        if (state === success) return;
        throw new VnfpipeError(
          'STEP_FAILED',
          `the rolling update of ${name} to revision ${revision} ended ${state}: ${service?.UpdateStatus?.Message ?? ''}`.trim(),
          {
            where: `swarm service ${name}`,
            hint: state.startsWith('rollback')
              ? 'the new tasks failed; the service is back on its previous spec'
              : 'docker service ps shows why tasks failed',
          },
        );
      }
      if (Date.now() > deadline)
        throw new VnfpipeError(
          'STEP_FAILED',
          `the rolling update of ${name} is still ${state} after ${Math.round(timeoutMs / 1000)}s`,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

const seconds = (s: number) => Math.round(s * 1e9);

/** What a swarm service cannot carry, refused rather than dropped. */
export function swarmUnsupported(workload: Workload): string[] {
  const problems: string[] = [];
  if (workload.resources?.hugepages) {
    problems.push(
      'resources.hugepages: a service task cannot be given a hugetlbfs limited to its pages on whichever node runs it',
    );
  }
  for (const [i, net] of (workload.networks ?? []).entries()) {
    if (net.mac) problems.push(`networks[${i}].mac: swarm services take no MAC address`);
  }
  if (workload.files?.length) problems.push('files: the swarm target does not deliver config files yet');
  // Engine API 1.41's service spec has no field for these: a task would run without them.
  const resources = workload.resources ?? {};
  if (resources.cpuset) problems.push('resources.cpuset: service tasks cannot be pinned to CPUs');
  if (resources.memlock !== undefined) problems.push('resources.memlock: service tasks take no ulimits');
  const security = workload.security ?? {};
  if (security.privileged) problems.push('security.privileged: service tasks cannot run privileged');
  if (security.seccompProfile)
    problems.push('security.seccompProfile: service tasks take no seccomp profile');
  if (security.apparmorProfile)
    problems.push('security.apparmorProfile: service tasks take no AppArmor profile');
  if (security.noNewPrivileges) problems.push('security.noNewPrivileges: service tasks take no such option');
  for (const [i, net] of (workload.networks ?? []).entries()) {
    if (net.ip) problems.push(`networks[${i}].ip: service tasks get their addresses from the network`);
    if (net.sriov)
      problems.push(`networks[${i}].sriov: SR-IOV functions are a Kubernetes device-plugin resource`);
  }
  for (const [i, port] of (workload.ports ?? []).entries()) {
    if (port.hostIp) problems.push(`ports[${i}].hostIp: a published service port listens on every address`);
  }
  return problems;
}

export function serviceSpec(workload: Workload, revision: number, hash: string, update: RollingUpdate) {
  const resources = workload.resources ?? {};
  const security = workload.security ?? {};
  const labels = {
    ...workload.labels,
    [LABEL.managed]: 'true',
    [LABEL.workload]: workload.name,
    [LABEL.revision]: String(revision),
    [LABEL.specHash]: hash,
    [LABEL.image]: workload.image,
  };
  const updateConfig = {
    Parallelism: update.parallelism ?? 1,
    Delay: seconds(update.delaySeconds ?? 0),
    FailureAction: update.failureAction ?? 'rollback',
    Monitor: seconds(update.monitorSeconds ?? 5),
    MaxFailureRatio: 0,
    Order: update.order ?? 'stop-first',
  };
  return {
    Name: workload.name,
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: workload.image,
        ...(workload.command ? { Command: workload.command } : {}),
        ...(workload.args ? { Args: workload.args } : {}),
        Env: Object.entries(workload.env ?? {}).map(([k, v]) => `${k}=${v}`),
        Labels: labels,
        ...(security.user ? { User: security.user } : {}),
        ...(security.capabilities?.length ? { CapabilityAdd: security.capabilities } : {}),
        ...(security.dropCapabilities?.length ? { CapabilityDrop: security.dropCapabilities } : {}),
        ...(security.readOnlyRootFilesystem ? { ReadOnly: true } : {}),
        ...(workload.sysctls ? { Sysctls: workload.sysctls } : {}),
        StopGracePeriod: seconds(workload.stopGracePeriod ?? 10),
        ...(workload.health
          ? {
              Healthcheck: {
                Test: ['CMD', ...workload.health.command],
                Interval: durationNs(workload.health.interval, 2e9),
                Timeout: durationNs(workload.health.timeout, 2e9),
                Retries: workload.health.retries ?? 3,
                StartPeriod: durationNs(workload.health.startPeriod, 0),
              },
            }
          : {}),
      },
      Resources: {
        Limits: {
          ...(resources.cpus ? { NanoCPUs: Math.round(resources.cpus * 1e9) } : {}),
          ...(resources.memory !== undefined ? { MemoryBytes: parseSize(resources.memory, 'memory') } : {}),
        },
      },
      RestartPolicy: {
        Condition: workload.restart === 'no' ? 'none' : 'on-failure',
        MaxAttempts: 3,
        Delay: seconds(1),
      },
      Networks: (workload.networks ?? []).map((net) => ({ Target: networkName(workload, net) })),
    },
    Mode: { Replicated: { Replicas: workload.replicas ?? 1 } },
    UpdateConfig: updateConfig,
    RollbackConfig: { ...updateConfig, FailureAction: 'pause' },
    EndpointSpec: {
      Ports: (workload.ports ?? []).map((p) => ({
        Protocol: p.protocol ?? 'tcp',
        TargetPort: p.container,
        PublishedPort: p.host ?? p.container,
        PublishMode: 'ingress',
      })),
    },
  };
}
