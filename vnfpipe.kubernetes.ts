/**
 * The example VNF's Kubernetes variant: the vfw image (built, scanned and pushed by vnfpipe.config.ts to a
 * registry the cluster can pull from) deployed to a cluster with a management network (the pod network)
 * and two macvlan data networks through Multus, pinned CPUs and hugepages; verified through the pod's exec
 * subresource; rolled back to the last verified revision when verify fails.
 *
 *   npx vnfpipe render -f vnfpipe.kubernetes.ts -o k8s/     the objects as YAML, no cluster needed
 *   VFW_IMAGE=registry.example/vnf/vfw@sha256:… npx vnfpipe run -f vnfpipe.kubernetes.ts
 *
 * The run uses KUBECONFIG (or VFW_KUBE_CONTEXT); the cluster needs Multus, the macvlan CNI plugin, NICs
 * named by VFW_PARENT_IN/VFW_PARENT_OUT on the nodes, the static CPU manager and 2 MiB hugepages (README).
 */
import { cnf, definePipeline, deploy, probe, rollback, verify } from 'vnfpipe';

const env = process.env;
const name = env.VFW_NAME ?? 'vfw';
// Render needs some pinned image; a run needs the one vnfpipe.config.ts pushed (its digest).
const image =
  env.VFW_IMAGE ??
  'registry.example/vnf/vfw@sha256:0000000000000000000000000000000000000000000000000000000000000000';

export default definePipeline('vfw-kubernetes', (p) => {
  const release = p.step(
    'deploy',
    deploy.kubernetes({
      namespace: env.VFW_NAMESPACE ?? 'vnf',
      ...(env.VFW_KUBE_CONTEXT ? { context: env.VFW_KUBE_CONTEXT } : {}),
      createNamespace: true,
      workload: {
        name,
        image,
        replicas: 2,
        networks: [
          { role: 'mgmt' },
          {
            role: 'in',
            driver: 'macvlan',
            parent: env.VFW_PARENT_IN ?? 'eth1',
            mode: 'bridge',
            subnet: '10.240.2.0/24',
          },
          {
            role: 'out',
            driver: 'macvlan',
            parent: env.VFW_PARENT_OUT ?? 'eth2',
            mode: 'bridge',
            subnet: '10.240.3.0/24',
          },
        ],
        resources: { cpus: 2, memory: '1Gi', hugepages: { size: '2Mi', pages: 512 } },
        security: { capabilities: ['NET_ADMIN', 'IPC_LOCK'], dropCapabilities: ['ALL'], user: '10001:10001' },
        sysctls: { 'net.ipv4.ip_forward': '1' },
        ports: [{ container: 5000, protocol: 'udp' }],
        stopGracePeriod: 5,
      },
    }),
  );
  // Probes the kubernetes target runs through the exec subresource and the pod's logs.
  const probes = [
    probe.exec({ command: ['cat', '/etc/vfw/rules.conf'], outputContains: 'forward' }),
    cnf.noZombies(),
    cnf.singleProcessType(),
    cnf.logsToStdout(),
  ];
  const back = p.step('rollback', rollback({ release: release.out, probes }));
  p.step('verify', verify({ release: release.out, probes }), { onFailure: back });
});
