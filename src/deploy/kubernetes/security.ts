/** The workload's `security` as a container securityContext. */
import type { SecuritySpec } from '../model.js';
import type { Problems } from './problems.js';
import type { ProfileRef, SecurityContext } from './types.js';

/** Kubernetes names capabilities without the CAP_ prefix. */
export const capabilityName = (cap: string): string => cap.replace(/^CAP_/, '');

export function securityContext(security: SecuritySpec, problems: Problems): SecurityContext {
  const add = (security.capabilities ?? []).map(capabilityName);
  const drop = (security.dropCapabilities ?? []).map(capabilityName);
  const context: SecurityContext = {};
  if (add.length || drop.length) {
    context.capabilities = { ...(add.length ? { add } : {}), ...(drop.length ? { drop } : {}) };
  }
  if (security.privileged && security.privilegedWaiver) context.privileged = true;
  if (security.noNewPrivileges) {
    // The API server rejects this combination, so say why here rather than at apply time.
    if (context.privileged) problems.add('security: noNewPrivileges cannot be combined with privileged');
    if (add.includes('SYS_ADMIN'))
      problems.add('security: noNewPrivileges cannot be combined with SYS_ADMIN');
    context.allowPrivilegeEscalation = false;
  }
  if (security.readOnlyRootFilesystem) context.readOnlyRootFilesystem = true;
  if (security.user !== undefined) Object.assign(context, runAs(security.user, problems));
  // Docker applies its default seccomp profile unless told otherwise; keep that on Kubernetes, whose
  // default is no profile at all.
  context.seccompProfile = security.seccompProfile
    ? profile('seccompProfile', security.seccompProfile, problems)
    : { type: 'RuntimeDefault' };
  if (security.apparmorProfile) {
    context.appArmorProfile = profile('apparmorProfile', security.apparmorProfile, problems);
  }
  return context;
}

function runAs(user: string, problems: Problems): Partial<SecurityContext> {
  const match = /^(\d+|root)(?::(\d+|root))?$/.exec(user);
  if (!match) {
    problems.add(
      `security.user '${user}': Kubernetes runs containers as numeric ids only; write uid[:gid], e.g. 10001:10001`,
    );
    return {};
  }
  const id = (value: string) => (value === 'root' ? 0 : Number(value));
  const uid = id(match[1]!);
  return {
    runAsUser: uid,
    ...(match[2] !== undefined ? { runAsGroup: id(match[2]) } : {}),
    // The kubelet then refuses to start the container as root, whatever the image says.
    ...(uid !== 0 ? { runAsNonRoot: true } : {}),
  };
}

function profile(field: string, value: string, problems: Problems): ProfileRef {
  if (value === 'unconfined') return { type: 'Unconfined' };
  if (value === 'runtime/default' || value === 'default') return { type: 'RuntimeDefault' };
  if (field === 'seccompProfile' && (value.startsWith('/') || value.split('/').includes('..'))) {
    problems.add(
      `security.seccompProfile '${value}': a Kubernetes node loads seccomp profiles from its kubelet's seccomp directory; install the profile there and give its relative path (profiles/vnf.json)`,
    );
  }
  // AppArmor: a profile loaded on the node, by name. Seccomp: a file under the kubelet's seccomp directory.
  return { type: 'Localhost', localhostProfile: value };
}
