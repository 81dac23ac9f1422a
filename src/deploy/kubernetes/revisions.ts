/**
 * The kubernetes target's release history, kept in the cluster like Helm's: one Secret per revision
 * (`vnfpipe.<name>.v<N>`, type `vnfpipe.io/release.v1`) holding the applied manifest, the image and the
 * status, labelled by workload. Unlike Helm, a revision left `pending` by a run that died does not block
 * the next run: it is marked abandoned and the next apply converges the objects (apply is idempotent).
 * Creating the revision's Secret is what claims its number, so two runs never record the same revision.
 */
import { hostname } from 'node:os';
import { isAlive } from '../../pipeline/journal.js';
import type { RevisionStatus } from '../history.js';
import { LABEL } from '../labels.js';
import type { KubeCluster } from './cluster.js';
import type { KubeObject } from './types.js';

export const RELEASE_SECRET_TYPE = 'vnfpipe.io/release.v1';
const STATUS_LABEL = 'io.vnfpipe.status';

export interface KubeRevision {
  revision: number;
  image: string;
  status: RevisionStatus;
  createdAt: string;
  updatedAt: string;
  /** The objects as applied, in apply order: a rollback re-applies them. */
  manifest: KubeObject[];
  /** `pid@host` of the run applying it, while pending. */
  owner?: string;
  runId?: string;
  note?: string;
}

interface SecretObject {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    resourceVersion?: string;
  };
  type: string;
  data: { release: string };
}

export class RevisionStore {
  constructor(
    private readonly cluster: KubeCluster,
    private readonly namespace: string,
  ) {}

  async list(name: string): Promise<KubeRevision[]> {
    const secrets = await this.cluster.list<SecretObject>('v1', 'Secret', this.namespace, {
      labels: `${LABEL.workload}=${name},${LABEL.managed}=true`,
    });
    return secrets
      .filter((s) => s.type === RELEASE_SECRET_TYPE)
      .map((s) => decode(s))
      .sort((a, b) => a.revision - b.revision);
  }

  /** Records revision `revision` as pending; false when another run recorded that number first. */
  async claim(name: string, revision: Omit<KubeRevision, 'status' | 'owner' | 'createdAt' | 'updatedAt'>) {
    const now = new Date().toISOString();
    const record: KubeRevision = {
      ...revision,
      status: 'pending',
      owner: `${process.pid}@${hostname()}`,
      createdAt: now,
      updatedAt: now,
    };
    return (await this.cluster.create(this.secret(name, record))) !== undefined;
  }

  async update(name: string, revision: number, status: RevisionStatus, note?: string): Promise<void> {
    const current = (await this.list(name)).find((r) => r.revision === revision);
    if (!current) return;
    const { owner: _, ...rest } = current;
    const record: KubeRevision = {
      ...rest,
      status,
      updatedAt: new Date().toISOString(),
      ...(note !== undefined ? { note } : {}),
    };
    await this.cluster.replace(this.secret(name, record));
  }

  async delete(name: string): Promise<void> {
    for (const r of await this.list(name))
      await this.cluster.delete({ apiVersion: 'v1', kind: 'Secret', metadata: this.meta(name, r.revision) });
  }

  /**
   * Marks abandoned the pending revisions whose run is gone: its process dead on this host. A pending record
   * from another host is taken as abandoned too (vnfpipe cannot see that process); two runs still never share
   * a revision number, as creating the Secret claims it.
   */
  async repair(name: string, log: (line: string) => void): Promise<void> {
    for (const r of await this.list(name)) {
      if (r.status !== 'pending') continue;
      const [pid, host] = (r.owner ?? '').split('@');
      if (host === hostname() && isAlive(Number(pid)) && Number(pid) !== process.pid) continue;
      log(`revision ${r.revision} was left pending by an interrupted run; marking it abandoned`);
      await this.update(
        name,
        r.revision,
        'abandoned',
        'its run was interrupted mid-apply; repaired by a later run',
      );
    }
  }

  private meta(name: string, revision: number) {
    return {
      name: `vnfpipe.${name}.v${revision}`,
      namespace: this.namespace,
      labels: { [LABEL.workload]: name, [LABEL.managed]: 'true', [LABEL.revision]: String(revision) },
    };
  }

  private secret(name: string, record: KubeRevision): SecretObject {
    const meta = this.meta(name, record.revision);
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { ...meta, labels: { ...meta.labels, [STATUS_LABEL]: record.status } },
      type: RELEASE_SECRET_TYPE,
      data: { release: Buffer.from(JSON.stringify(record)).toString('base64') },
    };
  }
}

function decode(secret: SecretObject): KubeRevision {
  return JSON.parse(Buffer.from(secret.data.release, 'base64').toString('utf8')) as KubeRevision;
}
