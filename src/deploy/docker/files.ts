/**
 * A workload's config files in its created container: modes exactly as declared, owned by `owner` or the
 * workload's non-root user, and checked after the copy. With a read-only root the files go into the volumes
 * `configVolumeDirs` puts over their directories, the only place the engine writes in such a container.
 */
import { posix } from 'node:path';
import { VnfpipeError } from '../../errors.js';
import type { DockerEngine } from '../engine/client.js';
import type { ConfigFileSpec, Workload } from '../model.js';
import { archiveOf, extractInto, readContainerFile } from './container-files.js';
import { configVolumeDirs, type Identity } from './spec.js';

const DEFAULT_MODE = 0o644;

/** Who owns a file: its `owner`, else the workload's user unless that is root. */
export function fileOwner(file: ConfigFileSpec, identity: Identity | undefined): Identity {
  if (file.owner) {
    const [uid, gid] = file.owner.split(':').map(Number);
    return { uid: uid!, gid: gid! };
  }
  return identity && identity.uid !== 0 ? identity : { uid: 0, gid: 0 };
}

export async function deliverFiles(
  engine: DockerEngine,
  container: string,
  workload: Workload,
  identity: Identity | undefined,
): Promise<void> {
  const files = workload.files ?? [];
  if (files.length === 0) return;
  const volumes = configVolumeDirs(workload);
  const baseOf = (path: string) =>
    volumes.find((dir) => path.startsWith(`${dir}/`)) ?? (volumes.length ? undefined : '/');
  const byBase = new Map<string, ConfigFileSpec[]>();
  for (const file of files) {
    const path = posix.normalize(file.path);
    const base = baseOf(path);
    if (!base) {
      throw new VnfpipeError('PIPELINE_INVALID', `no volume covers config file ${file.path}`, {
        where: `workload ${workload.name}`,
      });
    }
    byBase.set(base, [...(byBase.get(base) ?? []), { ...file, path }]);
  }
  for (const [base, group] of byBase) {
    const archive = archiveOf(
      group.map((file) => ({
        path: posix.relative(base, file.path),
        data: file.content,
        mode: file.mode ?? DEFAULT_MODE,
        ...fileOwner(file, identity),
      })),
    );
    await extractInto(engine, container, base, archive);
  }
  await checkFiles(engine, container, workload, identity);
}

/** Reads every file back and refuses the deploy when one is not what was declared. */
async function checkFiles(
  engine: DockerEngine,
  container: string,
  workload: Workload,
  identity: Identity | undefined,
): Promise<void> {
  for (const [i, file] of (workload.files ?? []).entries()) {
    const found = await readContainerFile(engine, container, file.path);
    const owner = fileOwner(file, identity);
    const mode = file.mode ?? DEFAULT_MODE;
    const want = `a file of ${Buffer.byteLength(file.content)} bytes, mode ${octal(mode)}, owner ${owner.uid}:${owner.gid}`;
    const got = found
      ? `a ${found.entry.kind} of ${found.entry.size} bytes, mode ${octal(found.entry.mode & 0o7777)}, owner ${found.entry.uid}:${found.entry.gid}`
      : 'nothing';
    if (got !== want) {
      throw new VnfpipeError('STEP_FAILED', `config file ${file.path} arrived as ${got}, declared ${want}`, {
        where: `workload ${workload.name}, files[${i}], container ${container}`,
      });
    }
  }
}

const octal = (mode: number) => `0${mode.toString(8).padStart(3, '0')}`;
