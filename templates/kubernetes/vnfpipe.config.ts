/**
 * A CNF on Kubernetes: a management interface (the pod network) and a data interface through Multus
 * (macvlan), 2 MiB hugepages, verified through the pod's exec subresource, rolled back when verify fails.
 *
 *   npx vnfpipe check                  type-check this file
 *   npx vnfpipe render -o k8s/         the objects as YAML, no cluster needed (review them, or hand to GitOps)
 *   npx vnfpipe plan --preflight       can the cluster hold it? (nodes' hugepages and CPUs, the quota)
 *   VNF_IMAGE=registry.example/vnf/app@sha256:… npx vnfpipe run
 *
 * The run uses KUBECONFIG (or VNF_KUBE_CONTEXT). The cluster needs Multus with the macvlan CNI plugin, a
 * NIC named VNF_PARENT (default eth1) on the nodes, and 2 MiB hugepages reserved on them.
 */
import { cnf, definePipeline, deploy, probe, rollback, verify } from 'vnfpipe';

const env = process.env;
const name = env.VNF_NAME ?? 'cnf';
// Render needs some image pinned by digest; a run needs one the cluster can pull.
const image =
  env.VNF_IMAGE ??
  'registry.example/vnf/cnf@sha256:0000000000000000000000000000000000000000000000000000000000000000';

export default definePipeline('cnf', (p) => {
  const release = p.step(
    'deploy',
    deploy.kubernetes({
      namespace: env.VNF_NAMESPACE ?? 'vnf',
      ...(env.VNF_KUBE_CONTEXT ? { context: env.VNF_KUBE_CONTEXT } : {}),
      createNamespace: true,
      workload: {
        name,
        image,
        replicas: 1,
        networks: [
          { role: 'mgmt' },
          {
            role: 'data',
            driver: 'macvlan',
            parent: env.VNF_PARENT ?? 'eth1',
            mode: 'bridge',
            subnet: '10.242.2.0/24',
          },
        ],
        resources: { cpus: 1, memory: '256Mi', hugepages: { size: '2Mi', pages: 64 } },
        security: { capabilities: ['NET_ADMIN', 'IPC_LOCK'], dropCapabilities: ['ALL'], user: '10001:10001' },
        ports: [{ container: 5000, protocol: 'udp' }],
      },
    }),
  );
  const probes = [probe.exec({ command: ['true'] }), cnf.noZombies(), cnf.logsToStdout()];
  const back = p.step('rollback', rollback({ release: release.out, probes }));
  p.step('verify', verify({ release: release.out, probes }), { onFailure: back });
});
