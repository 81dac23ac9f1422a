/** Engine operations the docker target composes: networks, images, containers, files. */
import { VnfpipeError } from '../../errors.js';
import { type DockerEngine, EngineError, registryAuthHeader } from '../engine/client.js';
import type { NetworkAttachment, Workload } from '../model.js';
import { archiveOf } from './container-files.js';
import { networkCreateBody } from './spec.js';

export interface ContainerState {
  Id: string;
  Name: string;
  State: {
    Status: string;
    Running: boolean;
    ExitCode: number;
    OOMKilled: boolean;
    StartedAt: string;
    FinishedAt: string;
    Health?: { Status: string; Log?: Array<{ ExitCode: number; Output: string }> };
  };
  Config: { Labels: Record<string, string>; Image: string };
  NetworkSettings: { Networks: Record<string, { IPAddress: string; MacAddress: string; NetworkID: string }> };
}

export async function inspectContainer(
  engine: DockerEngine,
  name: string,
): Promise<ContainerState | undefined> {
  const { status, body } = await engine.call<ContainerState>({
    path: `/containers/${encodeURIComponent(name)}/json`,
    accept: [404],
  });
  return status === 404 ? undefined : body;
}

export async function listContainers(
  engine: DockerEngine,
  labels: string[],
): Promise<Array<{ Id: string; Names: string[]; Labels: Record<string, string>; State: string }>> {
  return engine.json({
    path: '/containers/json',
    query: { all: 1, filters: JSON.stringify({ label: labels }) },
  });
}

export async function removeContainer(engine: DockerEngine, name: string): Promise<void> {
  await engine.call({
    method: 'DELETE',
    path: `/containers/${encodeURIComponent(name)}`,
    query: { force: 1, v: 1 },
    accept: [404],
  });
}

export async function stopContainer(engine: DockerEngine, name: string, graceSeconds: number): Promise<void> {
  await engine.call({
    method: 'POST',
    path: `/containers/${encodeURIComponent(name)}/stop`,
    query: { t: graceSeconds },
    accept: [304, 404],
    timeoutMs: (graceSeconds + 30) * 1000,
  });
}

export async function startContainer(engine: DockerEngine, name: string, workload: Workload): Promise<void> {
  try {
    await engine.call({
      method: 'POST',
      path: `/containers/${encodeURIComponent(name)}/start`,
      accept: [304],
    });
  } catch (error) {
    throw explainDriverFailure(error, workload);
  }
}

/** The kernel here lacks ipvlan (and others): creating such a network works, attaching fails. Say so. */
export function explainDriverFailure(error: unknown, workload: Workload): unknown {
  if (!(error instanceof EngineError) || !/operation not supported|not supported/i.test(error.message))
    return error;
  const suspects = (workload.networks ?? []).filter((n) => n.driver === 'ipvlan' || n.driver === 'macvlan');
  const drivers = [...new Set(suspects.map((n) => n.driver))].join('/') || 'network';
  return new VnfpipeError(
    'STEP_FAILED',
    `the host kernel does not support the ${drivers} driver the workload asks for: ${error.message}`,
    {
      where: `workload ${workload.name} (${suspects.map((n) => n.role).join(', ') || 'networks'})`,
      hint: 'load the kernel module (modprobe ipvlan / macvlan) on the engine host, or use another driver (macvlan on a veth parent, bridge)',
    },
  );
}

interface NetworkInfo {
  Name: string;
  Driver: string;
  Internal: boolean;
  IPAM?: { Config?: Array<{ Subnet?: string }> };
}

/** Creates the workload's networks that do not exist; checks that existing ones match the declaration. */
export async function ensureNetwork(
  engine: DockerEngine,
  workload: Workload,
  net: NetworkAttachment & { dockerName: string },
): Promise<'created' | 'exists'> {
  const driver = net.driver ?? 'bridge';
  const { status, body } = await engine.call<NetworkInfo>({
    path: `/networks/${encodeURIComponent(net.dockerName)}`,
    accept: [404],
  });
  if (status !== 404) {
    const subnet = body.IPAM?.Config?.[0]?.Subnet;
    const mismatch = [
      body.Driver !== driver ? `driver ${body.Driver} (declared ${driver})` : '',
      Boolean(body.Internal) !== Boolean(net.internal)
        ? `internal ${body.Internal} (declared ${Boolean(net.internal)})`
        : '',
      net.subnet && subnet !== net.subnet ? `subnet ${subnet} (declared ${net.subnet})` : '',
    ].filter(Boolean);
    if (mismatch.length && !net.external) {
      throw new VnfpipeError('STEP_FAILED', `network ${net.dockerName} exists with ${mismatch.join(', ')}`, {
        where: `workload ${workload.name}, role ${net.role}`,
        hint: 'remove the old network (docker network rm) or give this role another name',
      });
    }
    return 'exists';
  }
  if (net.external) {
    throw new VnfpipeError('STEP_FAILED', `external network ${net.dockerName} does not exist`, {
      where: `workload ${workload.name}, role ${net.role}`,
    });
  }
  try {
    await engine.call({ method: 'POST', path: '/networks/create', body: networkCreateBody(workload, net) });
  } catch (error) {
    if (
      error instanceof EngineError &&
      /parent|no such device|not found/i.test(error.message) &&
      net.parent
    ) {
      throw new VnfpipeError(
        'STEP_FAILED',
        `cannot create ${driver} network ${net.dockerName} on parent ${net.parent}: ${error.message}`,
        {
          where: `workload ${workload.name}, role ${net.role}`,
          hint: `check that the host interface ${net.parent} exists (ip link show ${net.parent})`,
        },
      );
    }
    throw explainDriverFailure(error, workload);
  }
  return 'created';
}

export async function imagePresent(engine: DockerEngine, image: string): Promise<boolean> {
  const { status } = await engine.call({ path: `/images/${encodeURIComponent(image)}/json`, accept: [404] });
  return status !== 404;
}

/** Pulls an image by reference (by digest for deploys) with registry credentials, reporting progress. */
export async function pullImage(
  engine: DockerEngine,
  image: string,
  auth: { username: string; password: string; serveraddress: string } | undefined,
  onProgress: (status: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  const at = image.indexOf('@');
  const fromImage = at === -1 ? image : image.slice(0, at).replace(/:[^/:]+$/, '');
  const tag = at === -1 ? undefined : image.slice(at + 1);
  await engine.stream(
    {
      method: 'POST',
      path: '/images/create',
      query: { fromImage, ...(tag ? { tag } : {}) },
      headers: auth ? { 'X-Registry-Auth': registryAuthHeader(auth) } : {},
      timeoutMs: 600_000,
      ...(signal ? { signal } : {}),
    },
    (item) => {
      if (typeof item.status === 'string' && !item.progressDetail) onProgress(item.status);
    },
  );
}

/** A tar archive of in-memory files at absolute paths, modes exactly as given (root-owned). */
export async function tarOf(
  files: Array<{ path: string; data: string | Buffer; mode?: number }>,
): Promise<Buffer> {
  return archiveOf(files.map((file) => ({ ...file, mode: file.mode ?? 0o644 })));
}

/** Extracts a tar archive at `/` in a container (created or running). */
export async function putArchive(engine: DockerEngine, container: string, archive: Buffer): Promise<void> {
  await engine.call({
    method: 'PUT',
    path: `/containers/${encodeURIComponent(container)}/archive`,
    query: { path: '/' },
    data: archive,
    contentType: 'application/x-tar',
  });
}

export async function containerLogs(engine: DockerEngine, container: string, tail = 20): Promise<string> {
  const { demultiplex } = await import('../engine/client.js');
  const res = await engine.raw({
    path: `/containers/${encodeURIComponent(container)}/logs`,
    query: { stdout: 1, stderr: 1, tail },
  });
  const { stdout, stderr } = await demultiplex(res);
  return `${stdout}${stderr}`.trim();
}
