/**
 * The machine checks `vnfpipe doctor` runs. Each answers ✔ or ✘ with the reason and the fix; `required`
 * says whether the pipeline in the folder needs it (a missing required thing makes doctor exit 1).
 * Kernel network drivers are tried in a throwaway network namespace, so the host's links are never touched.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { join } from 'node:path';
import type { PipelineNeeds } from './needs.js';

export interface CheckResult {
  name: string;
  ok: boolean;
  /** What was found (version, count) or why it is missing. */
  detail: string;
  /** What to do when it is not ok. */
  fix?: string;
  required: boolean;
}

const env = process.env;

export async function runChecks(needs: PipelineNeeds | undefined): Promise<CheckResult[]> {
  const want = (flag: boolean | undefined) => Boolean(needs && flag);
  const results: CheckResult[] = [];
  const engine = await checkEngine(want(needs?.engine || needs?.swarm || needs?.buildkit));
  results.push(engine.result);
  if (needs?.swarm) results.push(swarmCheck(engine.swarm));
  results.push(await checkBuildkit(want(needs?.buildkit), engine.result.ok));
  for (const host of needs?.registries ?? []) results.push(await checkRegistry(host));
  const drivers = needs ? needs.drivers : new Set<string>();
  results.push(...(await checkDrivers(drivers)));
  results.push(checkSctp(false));
  results.push(checkHugepages(needs?.hugepages ?? []));
  results.push(checkCpus(needs?.cpus ?? 0));
  results.push(...(await checkKubernetes(needs?.kubernetes ?? [])));
  for (const named of needs?.engines ?? []) results.push(await checkNamedEngine(named));
  return results;
}

async function checkEngine(required: boolean): Promise<{ result: CheckResult; swarm?: string }> {
  const { DockerEngine, engineEndpoint } = await import('../deploy/engine/client.js');
  let display = env.DOCKER_HOST || 'unix:///var/run/docker.sock';
  try {
    const endpoint = engineEndpoint(env);
    display = endpoint.display;
    const engine = new DockerEngine(endpoint);
    const { body: version } = await engine.call<{ Version: string; ApiVersion: string }>({
      path: '/version',
      timeoutMs: 5000,
    });
    const { body: info } = await engine.call<{ Swarm?: { LocalNodeState?: string } }>({
      path: '/info',
      timeoutMs: 5000,
    });
    const apiOk = Number(version.ApiVersion) >= 1.41;
    return {
      result: {
        name: 'Docker engine',
        ok: apiOk,
        detail: `${version.Version} (API ${version.ApiVersion}) at ${display}`,
        ...(apiOk
          ? {}
          : { fix: 'vnfpipe needs engine API 1.41 or later (Docker 20.10+): upgrade the engine' }),
        required,
      },
      ...(info.Swarm?.LocalNodeState ? { swarm: info.Swarm.LocalNodeState } : {}),
    };
  } catch (error) {
    return {
      result: {
        name: 'Docker engine',
        ok: false,
        detail: `no engine answers at ${display}: ${reason(error)}`,
        fix: `start it: systemctl start docker (or: dockerd &)${
          env.DOCKER_HOST
            ? ', or unset DOCKER_HOST to use /var/run/docker.sock'
            : ', or point DOCKER_HOST at a running engine'
        }`,
        required,
      },
    };
  }
}

/** An engine a deploy step names (a fleet site's, a remote one): reachable, and its API new enough. */
async function checkNamedEngine(named: PipelineNeeds['engines'][number]): Promise<CheckResult> {
  const name = `engine of ${named.steps.join(', ')}`;
  try {
    const [{ DockerEngine }, { resolveEngine }] = await Promise.all([
      import('../deploy/engine/client.js'),
      import('../deploy/engine/endpoint.js'),
    ]);
    const engine = new DockerEngine(resolveEngine(named, env, process.cwd()));
    const { body: version } = await engine.call<{ Version: string; ApiVersion: string }>({
      path: '/version',
      timeoutMs: 10_000,
    });
    const apiOk = Number(version.ApiVersion) >= 1.41;
    return {
      name,
      ok: apiOk,
      detail: `${version.Version} (API ${version.ApiVersion}) at ${named.label}`,
      ...(apiOk ? {} : { fix: 'vnfpipe needs engine API 1.41 or later (Docker 20.10+) there' }),
      required: true,
    };
  } catch (error) {
    const hint = (error as { hint?: string }).hint;
    return {
      name,
      ok: false,
      detail: `${named.label} does not answer: ${reason(error)}`,
      fix:
        hint ??
        (named.context
          ? `check the context: docker --context ${named.context} version`
          : `check the engine: DOCKER_HOST=${named.label} docker version`),
      required: true,
    };
  }
}

function swarmCheck(state: string | undefined): CheckResult {
  return {
    name: 'swarm mode',
    ok: state === 'active',
    detail: state ? `node state ${state}` : 'unknown (the engine did not answer)',
    fix: 'make this engine a swarm manager: docker swarm init --advertise-addr 127.0.0.1',
    required: true,
  };
}

async function checkBuildkit(required: boolean, engineOk: boolean): Promise<CheckResult> {
  const name = 'BuildKit';
  const where = env.BUILDKIT_HOST || 'docker:// (the engine’s embedded BuildKit)';
  if (!env.BUILDKIT_HOST && !engineOk) {
    return {
      name,
      ok: false,
      detail: 'the Docker engine does not answer',
      fix: 'start the engine first',
      required,
    };
  }
  try {
    const [{ BuildkitClient }, { parseBuildkitAddress }] = await Promise.all([
      import('../buildkit/client.js'),
      import('../buildkit/address.js'),
    ]);
    const client = await BuildkitClient.connect(parseBuildkitAddress(env.BUILDKIT_HOST, env));
    try {
      const info = await client.probe();
      const platforms = [...new Set(info.workers.flatMap((w) => w.platforms))].join(', ');
      return {
        name,
        ok: true,
        detail: `${info.version} at ${where}${platforms ? `, ${platforms}` : ''}`,
        required,
      };
    } finally {
      client.close();
    }
  } catch (error) {
    return {
      name,
      ok: false,
      detail: `${where}: ${reason(error)}`,
      fix: 'use Docker ≥ 20.10 (embedded BuildKit) or set BUILDKIT_HOST to a running buildkitd',
      required,
    };
  }
}

async function checkRegistry(host: string): Promise<CheckResult> {
  const { RegistryClient } = await import('../registry/client.js');
  const client = new RegistryClient(host, {});
  const loopback = /^(127\.|localhost(:|$)|\[::1\])/.test(host);
  try {
    await client.checkLogin();
    return { name: `registry ${host}`, ok: true, detail: 'reachable, access accepted', required: true };
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'REGISTRY_AUTH') {
      return {
        name: `registry ${host}`,
        ok: false,
        detail: 'reachable, but the credentials are missing or refused',
        fix: `log in: vnfpipe login ${host} -u <user> --password-stdin`,
        required: true,
      };
    }
    // A loopback registry is often started by a step of the pipeline itself (the example's is).
    return {
      name: `registry ${host}`,
      ok: false,
      detail: `not reachable: ${reason(error)}${loopback ? ' (fine if a step of the pipeline starts it)' : ''}`,
      fix: loopback
        ? 'start it, or let the pipeline start it'
        : `check the name and the network path to ${host}`,
      required: !loopback,
    };
  } finally {
    client.close();
  }
}

/** Each driver tried in a throwaway network namespace; bridge and macvlan/ipvlan over a veth pair. */
async function checkDrivers(needed: Set<string>): Promise<CheckResult[]> {
  const tries: Record<string, string> = {
    bridge: 'ip link add name b0 type bridge',
    macvlan: 'ip link add name m0 link p0 type macvlan mode bridge',
    ipvlan: 'ip link add name i0 link p0 type ipvlan mode l2',
    overlay: 'ip link add name v0 type vxlan id 42 dstport 4789 dev p0',
  };
  const script = [
    'ip link add name p0 type veth peer name p1 || exit 3',
    ...Object.entries(tries).map(
      ([driver, command]) => `${command} 2>/dev/null && echo ok ${driver} || echo no ${driver}`,
    ),
  ].join('\n');
  const output = await run('unshare', ['--net', 'sh', '-c', script]);
  return Object.keys(tries).map((driver) => {
    const label = `network driver ${driver}${driver === 'overlay' ? ' (vxlan)' : ''}`;
    const required = needed.has(driver);
    if (output.error !== undefined) {
      return {
        name: label,
        ok: false,
        detail: `could not test: ${output.error}`,
        fix: 'run vnfpipe doctor as root (it tries each link type in a throwaway network namespace)',
        required,
      };
    }
    const ok = output.stdout.includes(`ok ${driver}`);
    return {
      name: label,
      ok,
      detail: ok
        ? 'the kernel creates these links'
        : `the kernel has no ${driver === 'overlay' ? 'vxlan' : driver} link type (Unknown device type)`,
      ...(ok
        ? {}
        : {
            fix:
              driver === 'ipvlan'
                ? 'load the ipvlan module (modprobe ipvlan) or use a kernel with CONFIG_IPVLAN; or declare macvlan instead'
                : `load the ${driver === 'overlay' ? 'vxlan' : driver} module (modprobe) or use a kernel built with it`,
          }),
      required,
    };
  });
}

function checkSctp(required: boolean): CheckResult {
  const ok = existsSync('/proc/sys/net/sctp');
  return {
    name: 'SCTP',
    ok,
    detail: ok
      ? 'the kernel speaks SCTP'
      : 'the kernel has no SCTP (no /proc/sys/net/sctp): SCTP sockets fail with EPROTONOSUPPORT',
    ...(ok
      ? {}
      : {
          fix: 'load it: modprobe sctp (or a kernel with CONFIG_IP_SCTP); probes and workloads using SCTP need it',
        }),
    required,
  };
}

function checkHugepages(wanted: { size: '2Mi' | '1Gi'; pages: number }[]): CheckResult {
  const free = (size: '2Mi' | '1Gi') => {
    const kb = size === '2Mi' ? 2048 : 1048576;
    try {
      return Number(readFileSync(`/sys/kernel/mm/hugepages/hugepages-${kb}kB/free_hugepages`, 'utf8').trim());
    } catch {
      return 0;
    }
  };
  const free2m = free('2Mi');
  const free1g = free('1Gi');
  const short = wanted.filter((w) => (w.size === '2Mi' ? free2m : free1g) < w.pages);
  const need = wanted.map((w) => `${w.pages} × ${w.size}`).join(', ');
  return {
    name: 'hugepages',
    ok: short.length === 0,
    detail: `free: ${free2m} × 2Mi, ${free1g} × 1Gi${need ? `; the pipeline asks for ${need}` : ''}`,
    ...(short.length
      ? {
          fix: `reserve them: echo ${short[0]?.pages} > /proc/sys/vm/nr_hugepages (2Mi; 1Gi pages need the kernel command line)`,
        }
      : {}),
    required: wanted.length > 0,
  };
}

function checkCpus(needed: number): CheckResult {
  const count = availableParallelism();
  return {
    name: 'CPUs for pinning',
    ok: count >= needed,
    detail: `${count} CPUs${needed ? `; the highest cpuset CPU is ${needed - 1}` : ''}`,
    ...(count >= needed
      ? {}
      : { fix: `pin to CPUs 0-${count - 1} (resources.cpuset) or run on a bigger host` }),
    required: needed > 0,
  };
}

async function checkKubernetes(
  clusters: { context?: string; kubeconfig?: string }[],
): Promise<CheckResult[]> {
  if (clusters.length === 0) {
    const file = env.KUBECONFIG;
    return [
      {
        name: 'KUBECONFIG',
        ok: Boolean(file && existsSync(file.split(':')[0] ?? '')),
        detail: file ? file : 'not set (only kubernetes deploy steps need it)',
        fix: 'export KUBECONFIG=<file> for kubernetes deploy steps',
        required: false,
      },
    ];
  }
  const { KubeConfig, CoreV1Api } = await import('@kubernetes/client-node');
  const results: CheckResult[] = [];
  for (const cluster of clusters) {
    const name = `cluster ${cluster.context ?? '(current context)'}`;
    try {
      const config = new KubeConfig();
      const home = join(homedir(), '.kube', 'config');
      if (!cluster.kubeconfig && !env.KUBECONFIG && !existsSync(home)) {
        throw new Error(`no kubeconfig: KUBECONFIG is not set and ${home} does not exist`);
      }
      if (cluster.kubeconfig) config.loadFromFile(cluster.kubeconfig);
      else config.loadFromDefault();
      if (cluster.context) config.setCurrentContext(cluster.context);
      const server = config.getCurrentCluster()?.server;
      if (!server) throw new Error('no cluster in the kubeconfig (KUBECONFIG, ~/.kube/config)');
      await config.makeApiClient(CoreV1Api).listNamespace({ limit: 1 });
      results.push({ name, ok: true, detail: `${server} answers`, required: true });
    } catch (error) {
      results.push({
        name,
        ok: false,
        detail: `unreachable: ${reason(error)}`,
        fix: 'point KUBECONFIG (or the step’s kubeconfig/context) at a running cluster: kubectl cluster-info',
        required: true,
      });
    }
  }
  return results;
}

function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

function run(file: string, args: string[]): Promise<{ stdout: string; error?: string }> {
  return new Promise((resolvePromise) => {
    execFile(file, args, { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error && !stdout.includes('ok ') && !stdout.includes('no ')) {
        resolvePromise({ stdout, error: (stderr.trim() || error.message).split('\n')[0] ?? '' });
      } else {
        resolvePromise({ stdout });
      }
    });
  });
}
