/**
 * A VNF with a management network and two data networks: packets enter on `in` (an internal bridge) and
 * leave on `out` (macvlan on a host interface). Verify sends real packets through the data plane to a sink.
 *
 *   npx vnfpipe check && npx vnfpipe run
 *
 * Needs a C compiler with static libc, a Docker engine, and root for the `parent` step, which creates a veth
 * pair as the macvlan parent when VNF_PARENT does not exist yet (set VNF_PARENT to a real NIC instead).
 * VNF_NET (first two octets of the three /24 networks, default 10.241) and VNF_NAME change addresses and name.
 */
import { cnf, definePipeline, deploy, exec, image, probe, verify } from 'vnfpipe';

const env = process.env;
const name = env.VNF_NAME ?? 'fwd';
const net = env.VNF_NET ?? '10.241';
const parent = env.VNF_PARENT ?? 'vnfp0';
const sink = { ip: `${net}.3.20`, port: 6000 };

export default definePipeline('fwd', (p) => {
  const compile = p.step(
    'compile',
    exec({
      run: 'mkdir -p out && cc -O2 -static -o out/fwd src/fwd.c',
      inputs: ['src/**'],
      outputs: ['out/fwd'],
    }),
  );

  const img = p.step(
    'image',
    image.build({
      from: 'scratch',
      layers: [image.files(compile.out, { 'out/fwd': '/usr/local/bin/fwd' }, { mode: 0o755 })],
      entrypoint: ['/usr/local/bin/fwd'],
      cmd: ['5000', sink.ip, String(sink.port)],
      user: '65534:65534',
    }),
  );

  // macvlan needs a parent interface on the host: a veth pair stands in for a NIC.
  const hostParent = p.step(
    'parent',
    exec({
      run: `ip link show ${parent} >/dev/null 2>&1 || { ip link add ${parent} type veth peer name ${parent}p && ip link set ${parent}p up; }; ip link set ${parent} up`,
    }),
    { stage: 'deploy' },
  );

  const release = p.step(
    'deploy',
    deploy.docker({
      workload: {
        name,
        image: img.out,
        networks: [
          { role: 'mgmt', subnet: `${net}.1.0/24` },
          {
            role: 'out',
            driver: 'macvlan',
            parent,
            mode: 'bridge',
            subnet: `${net}.3.0/24`,
            ip: `${net}.3.10`,
          },
          // Internal networks come last: the Docker engine numbers them after the others.
          { role: 'in', internal: true, subnet: `${net}.2.0/24`, ip: `${net}.2.10` },
        ],
        resources: { memory: '32Mi' },
        security: { dropCapabilities: ['ALL'] },
      },
    }),
    { needs: [hostParent] },
  );

  p.step(
    'verify',
    verify({
      release: release.out,
      probes: [
        probe.interface({ name: 'eth0', role: 'mgmt', defaultRoute: true }),
        probe.udp({
          role: 'mgmt',
          port: 5000,
          send: 'ping',
          expect: 'pong',
          attempts: 20,
          interval: '200ms',
        }),
        probe.traffic({ from: 'in', to: 'out', port: 5000, sink, packets: 5, attempts: 2 }),
        cnf.logsToStdout(),
      ],
    }),
  );
});
