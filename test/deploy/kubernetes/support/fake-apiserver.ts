/**
 * A loopback stand-in for the Kubernetes API server, for contract tests of the kubernetes target.
 *
 * What it simulates:
 * - discovery (`/api/v1`, `/apis/<group>/<version>`) for the kinds the target uses;
 * - objects by path: GET (one, or a list filtered by an equality `labelSelector`), POST (409 when it exists),
 *   PUT, DELETE, and PATCH only as server-side apply (`application/apply-patch+yaml` with `fieldManager`,
 *   optional `force`), which replaces the object's spec/data as sent and bumps `metadata.generation` when
 *   the spec changed;
 * - field ownership only for fields a test seeds (`own`): applying a different value for a field another
 *   manager owns answers 409 Conflict with the API server's message form, unless `force`;
 * - Multus' `network-status` annotation on pods of workloads that request attachments;
 * - a scripted controller: after an apply changes a workload, the first read returns the previous
 *   generation's status, the next ones the script's end state (observed generation, replicas, conditions) and sets its pods and
 *   events: healthy, ProgressDeadlineExceeded, ImagePullBackOff, CrashLoopBackOff (with previous logs),
 *   FailedScheduling for a resource, FailedCreatePodSandBox (a Multus error);
 * - nodes with allocatable resources (`addNode`), pods placed on them (`addPod`), pod logs (`/log`);
 * - a request left unanswered (`hold`), for a client killed mid-apply;
 * - the pods/exec subresource over a websocket (v4.channel.k8s.io: stdout, stderr, the final Status with
 *   the exit code), answering as `exec` scripts.
 *
 * What it does not: authentication and RBAC (any bearer token), watches, resourceVersion conflicts, field
 * ownership of unseeded fields, list/merge semantics of apply (an apply replaces what it sends), admission
 * and schema validation, garbage collection of pods, stdin and TTYs on exec, the v5 exec protocol.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

// biome-ignore lint/suspicious/noExplicitAny: objects of any kind, read loosely as the API server would
type Obj = Record<string, any>;

const RESOURCES: Record<string, Array<[string, string, boolean]>> = {
  v1: [
    ['namespaces', 'Namespace', false],
    ['nodes', 'Node', false],
    ['serviceaccounts', 'ServiceAccount', true],
    ['configmaps', 'ConfigMap', true],
    ['services', 'Service', true],
    ['secrets', 'Secret', true],
    ['pods', 'Pod', true],
    ['events', 'Event', true],
    ['resourcequotas', 'ResourceQuota', true],
  ],
  'apps/v1': [
    ['deployments', 'Deployment', true],
    ['statefulsets', 'StatefulSet', true],
    ['daemonsets', 'DaemonSet', true],
  ],
  'policy/v1': [['poddisruptionbudgets', 'PodDisruptionBudget', true]],
  'k8s.cni.cncf.io/v1': [['network-attachment-definitions', 'NetworkAttachmentDefinition', true]],
};

export type RolloutScript =
  | { outcome: 'healthy' }
  | { outcome: 'deadline' }
  | { outcome: 'image-pull'; message?: string }
  | { outcome: 'crashloop'; logs: string }
  | { outcome: 'unschedulable'; message: string }
  | { outcome: 'sandbox'; message: string };

export interface RequestRecord {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType?: string;
}

export class FakeApiServer {
  /** Stored objects by `apiVersion|resource|namespace|name`. */
  readonly store = new Map<string, Obj>();
  readonly requests: RequestRecord[] = [];
  /** The script for a workload's rollout, chosen by the image the apply sets. */
  script: (image: string) => RolloutScript = () => ({ outcome: 'healthy' });
  /** Requests this answers never (a client killed while waiting for them); `held` resolves at the first. */
  hold: (record: RequestRecord) => boolean = () => false;
  private onHeld?: () => void;
  readonly held = new Promise<void>((resolve) => {
    this.onHeld = resolve;
  });
  private readonly owners = new Map<string, Map<string, string>>();
  private readonly reads = new Map<string, number>();
  private readonly logs = new Map<string, string>();
  /** What a command run through the exec subresource answers: by pod and argv. */
  exec: (pod: Obj, command: string[]) => { stdout?: string; stderr?: string; exitCode: number } = () => ({
    exitCode: 0,
  });
  readonly execs: Array<{ pod: string; command: string[] }> = [];
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://x');
        const record = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams };
        if (this.hold(record)) {
          this.onHeld?.();
          return;
        }
        const { status, body } = this.handle(req, Buffer.concat(chunks).toString('utf8'));
        res.writeHead(status, {
          'content-type': typeof body === 'string' ? 'text/plain' : 'application/json',
        });
        res.end(typeof body === 'string' ? body : JSON.stringify(body));
      });
    });
    const sockets = new WebSocketServer({
      noServer: true,
      handleProtocols: (protocols) => (protocols.has('v4.channel.k8s.io') ? 'v4.channel.k8s.io' : false),
    });
    this.server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const match = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec$/.exec(url.pathname);
      const pod = match ? this.store.get(`v1|pods|${match[1]}|${match[2]}`) : undefined;
      if (!pod) {
        socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
        return;
      }
      sockets.handleUpgrade(req, socket, head, (ws) => {
        const command = url.searchParams.getAll('command');
        this.execs.push({ pod: pod.metadata.name, command });
        const result = this.exec(pod, command);
        // v4 channel protocol: one byte of stream number, then the data; 3 carries the final Status.
        const frame = (channel: number, text: string) =>
          Buffer.concat([Buffer.from([channel]), Buffer.from(text)]);
        if (result.stdout) ws.send(frame(1, result.stdout));
        if (result.stderr) ws.send(frame(2, result.stderr));
        const status =
          result.exitCode === 0
            ? { metadata: {}, status: 'Success' }
            : {
                metadata: {},
                status: 'Failure',
                reason: 'NonZeroExitCode',
                message: `command terminated with non-zero exit code: exit status ${result.exitCode}`,
                details: { causes: [{ reason: 'ExitCode', message: String(result.exitCode) }] },
              };
        ws.send(frame(3, JSON.stringify(status)));
        ws.close();
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  /** A kubeconfig pointing at this server (a token user: its token must never show in output). */
  kubeconfig(token = 'secret-token-do-not-print'): string {
    return JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      // Plain HTTP on loopback: client-node allows it only with TLS verification off.
      clusters: [{ name: 'fake', cluster: { server: this.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'ci', user: { token } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'ci' } }],
      'current-context': 'fake',
    });
  }

  addNode(name: string, allocatable: Record<string, string>): void {
    this.put('v1', 'nodes', '', name, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name },
      status: { allocatable, capacity: allocatable },
    });
  }

  /** A pod of someone else's on `node`, requesting `requests`. */
  addPod(namespace: string, name: string, node: string, requests: Record<string, string>): void {
    this.put('v1', 'pods', namespace, name, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace },
      spec: { nodeName: node, containers: [{ name: 'c', image: 'x', resources: { requests } }] },
      status: { phase: 'Running' },
    });
  }

  /** Seeds an object whose `fields` (dotted paths) another field manager owns. */
  own(object: Obj, manager: string, fields: string[]): void {
    const [group, resource] = this.resourceOf(object.apiVersion, object.kind);
    const key = this.key(group, resource, object.metadata.namespace ?? '', object.metadata.name);
    this.store.set(key, structuredClone(object));
    this.owners.set(key, new Map(fields.map((f) => [f, manager])));
  }

  get(apiVersion: string, kind: string, namespace: string, name: string): Obj | undefined {
    const [, resource] = this.resourceOf(apiVersion, kind);
    return this.store.get(this.key(apiVersion, resource, namespace, name));
  }

  list(apiVersion: string, kind: string): Obj[] {
    const [, resource] = this.resourceOf(apiVersion, kind);
    return [...this.store.entries()]
      .filter(([k]) => k.startsWith(`${apiVersion}|${resource}|`))
      .map(([, v]) => v);
  }

  applies(): RequestRecord[] {
    return this.requests.filter((r) => r.method === 'PATCH');
  }

  private resourceOf(apiVersion: string, kind: string): [string, string] {
    const found = RESOURCES[apiVersion]?.find((r) => r[1] === kind);
    if (!found) throw new Error(`fake API server: no ${apiVersion} ${kind}`);
    return [apiVersion, found[0]];
  }

  private key(apiVersion: string, resource: string, namespace: string, name: string) {
    return `${apiVersion}|${resource}|${namespace}|${name}`;
  }

  private put(apiVersion: string, resource: string, namespace: string, name: string, object: Obj) {
    this.store.set(this.key(apiVersion, resource, namespace, name), object);
  }

  private handle(req: IncomingMessage, text: string): { status: number; body: unknown } {
    const url = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    this.requests.push({
      method,
      path: url.pathname,
      query: url.searchParams,
      ...(req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {}),
    });
    const parts = url.pathname.split('/').filter(Boolean);
    const prefix = parts[0] === 'api' ? 1 : 2;
    const apiVersion = parts[0] === 'api' ? parts[1]! : `${parts[1]}/${parts[2]}`;
    const rest = parts.slice(prefix + 1);
    if (rest.length === 0) {
      const resources = RESOURCES[apiVersion];
      if (!resources) return notFound(url.pathname);
      return {
        status: 200,
        body: {
          kind: 'APIResourceList',
          groupVersion: apiVersion,
          resources: resources.map(([name, kind, namespaced]) => ({
            name,
            singularName: kind.toLowerCase(),
            namespaced,
            kind,
            verbs: ['create', 'delete', 'get', 'list', 'patch', 'update'],
          })),
        },
      };
    }
    let namespace = '';
    if (rest[0] === 'namespaces' && rest.length > 2) {
      namespace = rest[1]!;
      rest.splice(0, 2);
    }
    const [resource, name, sub] = rest as [string, string | undefined, string | undefined];
    const known = RESOURCES[apiVersion]?.find((r) => r[0] === resource);
    if (!known) return notFound(url.pathname);
    const key = name ? this.key(apiVersion, resource, namespace, name) : '';
    if (sub === 'log') return { status: 200, body: this.logs.get(`${namespace}/${name}`) ?? '' };
    if (method === 'GET' && !name) {
      const selector = url.searchParams.get('labelSelector');
      const items = [...this.store.entries()]
        .filter(([k]) => k.startsWith(`${apiVersion}|${resource}|${namespace ? `${namespace}|` : ''}`))
        .map(([, v]) => v)
        .filter((o) => matches(o.metadata?.labels ?? {}, selector));
      return { status: 200, body: { kind: `${known[1]}List`, apiVersion, metadata: {}, items } };
    }
    const existing = this.store.get(key);
    if (method === 'GET') {
      if (!existing) return notFound(url.pathname);
      if (apiVersion === 'apps/v1') this.advance(existing, namespace);
      return { status: 200, body: existing };
    }
    if (method === 'DELETE') {
      if (!existing) return notFound(url.pathname);
      this.store.delete(key);
      return { status: 200, body: { kind: 'Status', status: 'Success' } };
    }
    const body = JSON.parse(text) as Obj;
    if (method === 'POST') {
      const createdKey = this.key(apiVersion, resource, namespace, body.metadata.name);
      if (this.store.has(createdKey))
        return status(409, 'AlreadyExists', `${resource} "${body.metadata.name}" already exists`);
      this.store.set(createdKey, { ...body, metadata: { ...body.metadata, resourceVersion: '1' } });
      return { status: 201, body: this.store.get(createdKey) };
    }
    if (method === 'PUT') {
      if (!existing) return notFound(url.pathname);
      this.store.set(key, body);
      return { status: 200, body };
    }
    if (method === 'PATCH') {
      if (req.headers['content-type'] !== 'application/apply-patch+yaml')
        return status(415, 'UnsupportedMediaType', 'only server-side apply is simulated');
      const manager = url.searchParams.get('fieldManager');
      if (!manager) return status(422, 'Invalid', 'fieldManager is required for apply patch');
      const force = url.searchParams.get('force') === 'true';
      const owners = this.owners.get(key) ?? new Map<string, string>();
      const conflicts = [...owners.entries()].filter(
        ([field, owner]) =>
          owner !== manager &&
          at(body, field) !== undefined &&
          JSON.stringify(at(body, field)) !== JSON.stringify(at(existing ?? {}, field)),
      );
      if (conflicts.length && !force) {
        const list = conflicts
          .map(([f, o]) => `conflict with "${o}" using ${apiVersion}: .${f}`)
          .join('\n- ');
        return status(
          409,
          'Conflict',
          `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${list}`,
        );
      }
      for (const [field] of conflicts) owners.set(field, manager);
      const generation = existing?.metadata?.generation ?? 0;
      const specChanged = JSON.stringify(existing?.spec) !== JSON.stringify(body.spec);
      const stored = {
        ...body,
        metadata: { ...body.metadata, generation: specChanged ? generation + 1 : generation || 1 },
        ...(existing?.status ? { status: existing.status } : {}),
      };
      this.store.set(key, stored);
      if (apiVersion === 'apps/v1' && specChanged) this.reads.set(key, 0);
      return { status: 200, body: stored };
    }
    return status(405, 'MethodNotAllowed', method);
  }

  /** One controller step per read after an apply: the stale status first, then the script's end state. */
  private advance(workload: Obj, namespace: string) {
    const key = this.key(
      'apps/v1',
      RESOURCES['apps/v1']!.find((r) => r[1] === workload.kind)![0],
      namespace,
      workload.metadata.name,
    );
    const step = (this.reads.get(key) ?? 0) + 1;
    this.reads.set(key, step);
    const replicas = workload.spec.replicas ?? 1;
    const container = workload.spec.template.spec.containers[0];
    const script = this.script(container.image);
    // The first read after an apply sees the status of the previous generation.
    if (step === 1) return;
    const healthy = script.outcome === 'healthy';
    workload.status = {
      observedGeneration: workload.metadata.generation,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: healthy ? replicas : 0,
      availableReplicas: healthy ? replicas : 0,
      conditions: [
        script.outcome === 'deadline'
          ? {
              type: 'Progressing',
              status: 'False',
              reason: 'ProgressDeadlineExceeded',
              message: `ReplicaSet "${workload.metadata.name}-7d9f" has timed out progressing.`,
            }
          : {
              type: 'Progressing',
              status: 'True',
              reason: healthy ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated',
            },
        { type: 'Available', status: healthy ? 'True' : 'False' },
      ],
    };
    this.setPods(workload, namespace, script);
  }

  private setPods(workload: Obj, namespace: string, script: RolloutScript) {
    for (const [k] of [...this.store.entries()])
      if (
        k.startsWith(`v1|pods|${namespace}|${workload.metadata.name}-`) ||
        k.startsWith(`v1|events|${namespace}|${workload.metadata.name}-`)
      )
        this.store.delete(k);
    const container = workload.spec.template.spec.containers[0];
    const replicas = workload.spec.replicas ?? 1;
    for (let i = 0; i < replicas; i++) {
      const name = `${workload.metadata.name}-${workload.metadata.generation}-${i}`;
      const waiting =
        script.outcome === 'image-pull'
          ? {
              reason: 'ImagePullBackOff',
              message: script.message ?? `Back-off pulling image "${container.image}"`,
            }
          : script.outcome === 'crashloop'
            ? { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container' }
            : undefined;
      const ready = script.outcome === 'healthy';
      this.put('v1', 'pods', namespace, name, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name,
          namespace,
          labels: { ...workload.spec.template.metadata.labels },
          annotations: networkStatus(workload, namespace, i),
        },
        spec: { containers: [{ name: container.name, image: container.image }] },
        status: {
          phase: script.outcome === 'unschedulable' ? 'Pending' : 'Running',
          podIP: `10.244.0.${10 + i}`,
          conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
          containerStatuses:
            script.outcome === 'unschedulable'
              ? []
              : [
                  {
                    name: container.name,
                    image: container.image,
                    state: waiting ? { waiting } : { running: {} },
                  },
                ],
        },
      });
      if (script.outcome === 'crashloop') this.logs.set(`${namespace}/${name}`, script.logs);
      if (script.outcome === 'unschedulable' || script.outcome === 'sandbox') {
        this.put('v1', 'events', namespace, `${name}.sched`, {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name: `${name}.sched`, namespace },
          type: 'Warning',
          reason: script.outcome === 'sandbox' ? 'FailedCreatePodSandBox' : 'FailedScheduling',
          message: script.message,
          involvedObject: { kind: 'Pod', name },
        });
      }
    }
  }
}

/** What Multus reports on a pod: the pod network, then each requested attachment with its static ips. */
function networkStatus(workload: Obj, namespace: string, index: number): Record<string, string> {
  const requested = workload.spec.template.metadata.annotations?.['k8s.v1.cni.cncf.io/networks'];
  if (!requested) return {};
  const status = [
    { name: 'kindnet', interface: 'eth0', ips: [`10.244.0.${10 + index}`], default: true },
    ...(JSON.parse(requested) as Array<{ name: string; interface?: string; ips?: string[] }>).map((n) => ({
      name: `${namespace}/${n.name}`,
      interface: n.interface,
      ips: (n.ips ?? []).map((ip) => ip.split('/')[0]),
    })),
  ];
  return { 'k8s.v1.cni.cncf.io/network-status': JSON.stringify(status) };
}

function at(object: Obj, path: string): unknown {
  return path.split('.').reduce<Obj | undefined>((o, k) => o?.[k], object);
}

function matches(labels: Record<string, string>, selector: string | null): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=');
    return labels[k!] === v;
  });
}

function status(code: number, reason: string, message: string) {
  return {
    status: code,
    body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code },
  };
}

function notFound(path: string) {
  return status(404, 'NotFound', `the server could not find the requested resource (${path})`);
}
