/**
 * The numeric user and group a workload runs as: its `security.user`, or the image's own user. Names are
 * looked up in the image's /etc/passwd and /etc/group (read from a container that is created, never started),
 * as the engine itself resolves them.
 */
import { VnfpipeError } from '../../errors.js';
import type { DockerEngine } from '../engine/client.js';
import { LABEL } from '../labels.js';
import { readContainerFile } from './container-files.js';
import { removeContainer } from './engine-ops.js';
import type { Identity } from './spec.js';

const NUMBER = /^\d+$/;

export async function workloadIdentity(
  engine: DockerEngine,
  workload: string,
  image: string,
  declared: string | undefined,
): Promise<Identity> {
  const user =
    declared ||
    (await engine.json<{ Config?: { User?: string } }>({ path: `/images/${encodeURIComponent(image)}/json` }))
      .Config?.User;
  // No user anywhere: the engine runs the workload as 0:0.
  if (!user) return { uid: 0, gid: 0 };
  const [name = '', group] = user.split(':');
  if (NUMBER.test(name) && group !== undefined && NUMBER.test(group))
    return { uid: Number(name), gid: Number(group) };

  const where = `workload ${workload}, security.user '${user}'`;
  const { passwd, groups } = await accountFiles(engine, workload, image);
  const entry = passwd.find((fields) => (NUMBER.test(name) ? fields[2] === name : fields[0] === name));
  if (!entry && !NUMBER.test(name)) {
    throw new VnfpipeError('PIPELINE_INVALID', `user '${name}' is not in the image's /etc/passwd`, {
      where,
      hint: 'give the user as numeric uid:gid, or add it to the image',
    });
  }
  const uid = NUMBER.test(name) ? Number(name) : Number(entry![2]);
  if (group === undefined) return { uid, gid: entry ? Number(entry[3]) : 0 };
  if (NUMBER.test(group)) return { uid, gid: Number(group) };
  const groupEntry = groups.find((fields) => fields[0] === group);
  if (!groupEntry) {
    throw new VnfpipeError('PIPELINE_INVALID', `group '${group}' is not in the image's /etc/group`, {
      where,
      hint: 'give the user as numeric uid:gid, or add the group to the image',
    });
  }
  return { uid, gid: Number(groupEntry[2]) };
}

async function accountFiles(engine: DockerEngine, workload: string, image: string) {
  const { body } = await engine.call<{ Id: string }>({
    method: 'POST',
    path: '/containers/create',
    // Labelled as the workload's, so a run killed here leaves nothing that `repair` does not remove.
    body: {
      Image: image,
      Entrypoint: ['/'],
      Cmd: [],
      Labels: { [LABEL.managed]: 'true', [LABEL.workload]: workload },
    },
  });
  try {
    const table = async (path: string) => {
      const file = await readContainerFile(engine, body.Id, path);
      return (file?.data.toString('utf8') ?? '')
        .split('\n')
        .filter((line) => line && !line.startsWith('#'))
        .map((line) => line.split(':'));
    };
    return { passwd: await table('/etc/passwd'), groups: await table('/etc/group') };
  } finally {
    await removeContainer(engine, body.Id);
  }
}
