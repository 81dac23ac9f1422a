/**
 * The API calls the kubernetes target makes, through @kubernetes/client-node: server-side apply as field
 * manager `vnfpipe`, reads, lists by label, deletes, events and pod logs. Connection settings come from
 * the kubeconfig (a file, KUBECONFIG, ~/.kube/config, or the in-cluster service account), never logged:
 * errors name the API server and the context only.
 */
import {
  ApiException,
  CoreV1Api,
  Exec,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
} from '@kubernetes/client-node';
import { messageOf, VnfpipeError } from '../../errors.js';
import type { KubernetesAddress } from '../target.js';

export const FIELD_MANAGER = 'vnfpipe';

export type AnyObject = KubernetesObject & Record<string, unknown>;

export class KubeCluster {
  private readonly objects: KubernetesObjectApi;
  private readonly core: CoreV1Api;
  /** The API server's URL, the only connection detail errors name. */
  readonly server: string;

  private constructor(
    private readonly kc: KubeConfig,
    readonly context: string,
  ) {
    this.objects = KubernetesObjectApi.makeApiClient(kc);
    this.core = kc.makeApiClient(CoreV1Api);
    this.server = kc.getCurrentCluster()?.server ?? 'the cluster';
  }

  /** `kubeconfig` file, else KUBECONFIG / ~/.kube/config / in-cluster; `context`, else the current one. */
  static connect(
    address: Pick<KubernetesAddress, 'kubeconfig' | 'context'>,
    env: NodeJS.ProcessEnv,
  ): KubeCluster {
    const kc = new KubeConfig();
    const file = address.kubeconfig ?? env.KUBECONFIG;
    try {
      if (file) kc.loadFromFile(file.split(':')[0]!);
      else kc.loadFromDefault();
    } catch (error) {
      throw new VnfpipeError('USAGE', `cannot read the kubeconfig: ${messageOf(error).split('\n')[0]}`, {
        where: file ?? 'the default kubeconfig',
        hint: 'point `kubeconfig` (or KUBECONFIG) at a readable kubeconfig file',
      });
    }
    if (address.context) {
      if (!kc.getContexts().some((c) => c.name === address.context)) {
        throw new VnfpipeError('USAGE', `the kubeconfig has no context '${address.context}'`, {
          hint: `contexts: ${
            kc
              .getContexts()
              .map((c) => c.name)
              .join(', ') || 'none'
          }`,
        });
      }
      kc.setCurrentContext(address.context);
    }
    if (!kc.getCurrentCluster()) {
      throw new VnfpipeError('USAGE', 'no Kubernetes cluster is configured', {
        hint: 'set KUBECONFIG, pass `kubeconfig`/`context`, or run inside a cluster',
      });
    }
    return new KubeCluster(kc, kc.getCurrentContext());
  }

  /** Server-side apply; a conflict with another field manager is reported unless `force`. */
  async apply<T extends KubernetesObject>(object: T, force = false): Promise<T> {
    try {
      return await this.objects.patch(
        object,
        undefined,
        undefined,
        FIELD_MANAGER,
        force,
        PatchStrategy.ServerSideApply,
      );
    } catch (error) {
      if (error instanceof ApiException && error.code === 409) {
        throw new VnfpipeError(
          'STEP_FAILED',
          `applying ${describe(object)} conflicts with another field manager`,
          {
            where: this.server,
            hint: `${statusMessage(error)}; set forceConflicts: true to take these fields over, or change them where they are managed`,
          },
        );
      }
      throw this.failure(`apply ${describe(object)}`, error);
    }
  }

  async create<T extends KubernetesObject>(object: T): Promise<T | undefined> {
    try {
      return await this.objects.create(object, undefined, undefined, FIELD_MANAGER);
    } catch (error) {
      if (error instanceof ApiException && error.code === 409) return undefined;
      throw this.failure(`create ${describe(object)}`, error);
    }
  }

  async replace<T extends KubernetesObject>(object: T): Promise<T> {
    try {
      return await this.objects.replace(object, undefined, undefined, FIELD_MANAGER);
    } catch (error) {
      throw this.failure(`update ${describe(object)}`, error);
    }
  }

  async read<T = AnyObject>(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined> {
    try {
      return (await this.objects.read({
        apiVersion,
        kind,
        metadata: { name, ...(namespace ? { namespace } : {}) },
      })) as T;
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw this.failure(`read ${kind} ${name}`, error);
    }
  }

  /** Objects of a kind with the label selector; none when the API server does not serve the kind. */
  async list<T = AnyObject>(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    selector?: { labels?: string; fields?: string },
  ): Promise<T[]> {
    try {
      const list = await this.objects.list(
        apiVersion,
        kind,
        namespace,
        undefined,
        undefined,
        undefined,
        selector?.fields,
        selector?.labels,
      );
      return list.items as T[];
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return [];
      if (/Unrecognized API version and kind/.test(messageOf(error))) return [];
      throw this.failure(`list ${kind}`, error);
    }
  }

  async delete(object: KubernetesObject): Promise<void> {
    try {
      await this.objects.delete(object, undefined, undefined, undefined, undefined, 'Background');
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return;
      throw this.failure(`delete ${describe(object)}`, error);
    }
  }

  /** The last lines a container logged before it last restarted (what a crash loop says). */
  async previousLogs(namespace: string, pod: string, container: string, tail = 10): Promise<string> {
    try {
      return await this.core.readNamespacedPodLog({
        namespace,
        name: pod,
        container,
        previous: true,
        tailLines: tail,
      });
    } catch {
      return '';
    }
  }

  /** Runs a command in a pod's container through the exec subresource (a websocket). */
  async exec(
    namespace: string,
    pod: string,
    container: string,
    command: string[],
  ): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    const { PassThrough } = await import('node:stream');
    const [out, err] = [new PassThrough(), new PassThrough()];
    const chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
    out.on('data', (c: Buffer) => chunks.stdout.push(c));
    err.on('data', (c: Buffer) => chunks.stderr.push(c));
    const status = await new Promise<{
      status?: string;
      details?: { causes?: Array<{ reason?: string; message?: string }> };
    }>((resolve, reject) => {
      new Exec(this.kc)
        .exec(namespace, pod, container, command, out, err, null, false, (s) => resolve(s as never))
        .then((socket) => socket.on('close', () => resolve({})))
        .catch((error: unknown) => reject(this.failure(`exec in pod ${pod}`, error)));
    });
    const code = status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message;
    return {
      exitCode: status.status === 'Success' ? 0 : Number(code ?? -1),
      stdout: Buffer.concat(chunks.stdout).toString('utf8'),
      stderr: Buffer.concat(chunks.stderr).toString('utf8'),
    };
  }

  async logs(namespace: string, pod: string, container: string, tail: number): Promise<string> {
    try {
      return await this.core.readNamespacedPodLog({ namespace, name: pod, container, tailLines: tail });
    } catch (error) {
      throw this.failure(`read the logs of pod ${pod}`, error);
    }
  }

  private failure(what: string, error: unknown): VnfpipeError {
    if (error instanceof ApiException) {
      return new VnfpipeError('STEP_FAILED', `cannot ${what}: ${statusMessage(error)}`, {
        where: `${this.server} (context ${this.context})`,
        ...(error.code === 401 || error.code === 403
          ? { hint: 'the kubeconfig user lacks the permission; check its role bindings' }
          : {}),
      });
    }
    return new VnfpipeError('ENGINE_UNREACHABLE', `cannot ${what}: ${messageOf(error).split('\n')[0]}`, {
      where: `${this.server} (context ${this.context})`,
      hint: 'is the cluster up and the kubeconfig current?',
    });
  }
}

export function describe(object: KubernetesObject): string {
  return `${object.kind} ${object.metadata?.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata?.name}`;
}

/** The API server's Status message (the body is JSON text in client-node's exceptions). */
function statusMessage(error: ApiException<unknown>): string {
  const body = error.body;
  try {
    const parsed = typeof body === 'string' ? JSON.parse(body) : body;
    if (parsed && typeof parsed === 'object' && 'message' in parsed) return String(parsed.message);
  } catch {}
  return `HTTP ${error.code}`;
}
