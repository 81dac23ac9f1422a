/**
 * Verify's probes against a Kubernetes workload, through the API: exec in the first ready pod (the exec
 * subresource), its logs, its addresses (the pod IP for the management network, Multus' network-status
 * annotation for data networks). Probes that need a throwaway probe container beside the workload
 * (interface, traffic, `from: 'network'`) and the canary checks are refused as a tooling limit, not failed.
 */
import type { Release } from '../../pipeline/kinds.js';
import {
  type CanaryResult,
  type ExecResult,
  infraError,
  type ProbeHandle,
  type ProbeRuntime,
} from '../../verify/runtime.js';
import type { KubeCluster } from './cluster.js';

interface Pod {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { containers: Array<{ name: string; image: string }> };
  status?: { podIP?: string; phase?: string; conditions?: Array<{ type: string; status: string }> };
}

const NETWORK_STATUS = 'k8s.v1.cni.cncf.io/network-status';

export class KubernetesProbeRuntime implements ProbeRuntime {
  private pod?: Pod;

  constructor(
    private readonly cluster: KubeCluster,
    readonly release: Release,
  ) {}

  private get namespace(): string {
    return this.release.kubernetes?.namespace ?? 'default';
  }

  get container(): string {
    return this.pod?.metadata.name ?? this.release.name;
  }

  /** The first ready pod of the workload, looked up once per verify. */
  private async target(): Promise<Pod> {
    if (this.pod) return this.pod;
    const pods = await this.cluster.list<Pod>('v1', 'Pod', this.namespace, {
      labels: `app.kubernetes.io/instance=${this.release.name}`,
    });
    const ready = pods.find((p) =>
      p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    if (!ready)
      throw infraError('no ready pod to probe', this.release.name, new Error(`${pods.length} pods`));
    this.pod = ready;
    return ready;
  }

  async isRunning(instance: string): Promise<boolean> {
    const pod = await this.cluster.read<Pod>('v1', 'Pod', this.namespace, instance);
    return pod?.status?.phase === 'Running';
  }

  async image(): Promise<string> {
    return (await this.target()).spec.containers[0]?.image ?? this.release.image;
  }

  async address(role: string | undefined): Promise<string> {
    const pod = await this.target();
    const roles = Object.keys(this.release.networks);
    if (role === undefined || !roles.includes(role)) {
      if (pod.status?.podIP) return pod.status.podIP;
    } else {
      const statuses = JSON.parse(pod.metadata.annotations?.[NETWORK_STATUS] ?? '[]') as Array<{
        name: string;
        ips?: string[];
      }>;
      const nad = this.release.networks[role];
      const found = statuses.find((s) => s.name === nad || s.name.endsWith(`/${nad}`))?.ips?.[0];
      if (found) return found;
    }
    throw infraError(
      `pod ${pod.metadata.name} has no address on role '${role ?? '(pod network)'}'`,
      this.release.name,
      new Error(`roles: ${roles.join(', ') || 'none'}`),
    );
  }

  async exec(command: string[]): Promise<ExecResult> {
    const pod = await this.target();
    return this.cluster.exec(this.namespace, pod.metadata.name, pod.spec.containers[0]!.name, command);
  }

  /** `ps` inside the container (the image needs one; a distroless VNF fails this with the reason). */
  async processes(): Promise<Array<{ pid: string; stat: string; comm: string }>> {
    const result = await this.exec(['ps', '-o', 'pid,stat,comm']);
    if (result.exitCode !== 0)
      throw infraError(
        'cannot list processes in the pod',
        this.release.name,
        new Error(result.stderr.trim()),
      );
    return result.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .map(([pid = '', stat = '', comm = '']) => ({ pid, stat, comm }));
  }

  async logs(tail = 50, instance?: string): Promise<string> {
    const pod = await this.target();
    return this.cluster.logs(
      this.namespace,
      instance ?? pod.metadata.name,
      pod.spec.containers[0]!.name,
      tail,
    );
  }

  probeContainer(): Promise<ProbeHandle> {
    return Promise.reject(this.unsupported('probes that run a probe container beside the workload'));
  }

  canary(): Promise<CanaryResult> {
    return Promise.reject(this.unsupported('the sigterm and startup-time checks'));
  }

  async removeLeftovers(): Promise<void> {}

  private unsupported(what: string) {
    return infraError(
      `${what} are not available on the kubernetes target`,
      this.release.name,
      new Error('use tcp, udp, http, exec and the no-zombies/single-process-type/logs-to-stdout checks'),
    );
  }
}
