/**
 * vnfpipe's example pipeline (the "main job"): the vfw VNF — a static C UDP packet filter — from source to a
 * verified deployment with a management and two data networks.
 *
 *   build:    compile vfw; build a busybox base and the vfw image natively (no Docker build)
 *   scan:     SBOM (CycloneDX), vulnerabilities against the OSV advisories in pipelines/vfw/advisories, checks
 *   push:     push to a registry on 127.0.0.1 (started for the run unless VNFPIPE_REGISTRY names one), then
 *             sign it (cosign format) and attest its SLSA provenance and CycloneDX SBOM
 *   deploy:   run it on the Docker engine (VFW_ENGINE or VFW_CONTEXT name a remote one), every network
 *             attached before start, management as eth0
 *   verify:   real packets: ping/pong on management, traffic through the data plane, drops, PFCP, GTP-U,
 *             the isolation matrix, a throughput gate, CNF checks
 *   rollback: only when verify fails — back to the last verified revision, verified again
 *
 * `VFW_FAULT=1 npx vnfpipe run` deploys a faulty version (its data plane forwards to the wrong port): verify
 * fails, the rollback restores the previous revision, and the run exits 1. `VFW_FAULT=leak` leaks management
 * traffic into the data plane (caught by the isolation probe); `gtpu`, `pfcp` break those (pipelines/vfw/rules.ts).
 */
import { join } from 'node:path';
import {
  attest,
  cnf,
  definePipeline,
  deploy,
  exec,
  image,
  importOsv,
  probe,
  push,
  rollback,
  scan,
  sign,
  verify,
} from 'vnfpipe';
import { ensureLocalRegistry } from './pipelines/vfw/registry.ts';
import { faultsFrom, vfwRules } from './pipelines/vfw/rules.ts';
import { ensureSigningKey } from './pipelines/vfw/signing.ts';

const env = process.env;
const name = env.VFW_NAME ?? 'vfw';
const net = env.VFW_NET ?? '10.240'; // first two octets of the three /24 networks
const registryHost = env.VNFPIPE_REGISTRY ?? '127.0.0.1:5077';
const sink = { ip: `${net}.3.20`, port: 6000 };
const faults = faultsFrom(env.VFW_FAULT);
const faulty = faults.length > 0;
const teid = 0x1001; // the one tunnel the data plane relays

export default definePipeline('vfw', (p) => {
  const compile = p.step(
    'compile',
    exec({
      run: 'mkdir -p .vnfpipe/out && gcc -O2 -static -Wall -Wextra -Werror -o .vnfpipe/out/vfw pipelines/vfw/src/vfw.c',
      inputs: ['pipelines/vfw/src/**'],
      outputs: ['.vnfpipe/out/vfw'],
    }),
  );

  // A minimal base from Debian's busybox-static: the shell and the applets a VNF image commonly needs.
  const base = p.step(
    'base',
    image.build({
      from: 'scratch',
      layers: [
        image.layer({
          name: 'busybox',
          context: '/bin',
          files: { busybox: '/bin/busybox' },
          symlinks: Object.fromEntries(
            ['sh', 'ls', 'cat', 'ip', 'ps', 'sleep', 'echo'].map((a) => [`/bin/${a}`, 'busybox']),
          ),
          directories: ['/etc', '/tmp'],
        }),
      ],
      cmd: ['/bin/sh'],
    }),
  );

  const img = p.step(
    'image',
    image.build({
      from: base.out,
      layers: [
        image.files(compile.out, { '.vnfpipe/out/vfw': '/usr/local/bin/vfw' }, { mode: 0o755 }),
        image.content({
          '/etc/vfw/rules.conf': vfwRules(
            {
              sink,
              data: `${net}.2.10`,
              gtpu: { teids: [teid], peer: { ip: sink.ip, port: 2152 } },
              pfcp: 8805,
            },
            faults,
          ),
        }),
      ],
      entrypoint: ['/usr/local/bin/vfw'],
      cmd: ['-c', '/etc/vfw/rules.conf', '-p', '5000'],
      user: '65534:65534',
      labels: { 'org.opencontainers.image.title': 'vfw' },
    }),
  );

  // The example ships a small excerpt of OSV advisories; `vnfpipe db update` fetches the full feeds.
  const advisories = p.step(
    'advisories',
    async (ctx) => {
      const result = await importOsv(join(ctx.stateDir, 'osv'), [join(ctx.cwd, 'pipelines/vfw/advisories')]);
      ctx.log(`imported ${result.records} advisories`);
      return { records: result.records };
    },
    { stage: 'scan', inputs: ['pipelines/vfw/advisories/**'] },
  );
  const scanned = p.step(
    'scan',
    scan({
      image: img.out,
      db: '.vnfpipe/osv',
      failOn: 'high',
      sbom: { format: 'cyclonedx', path: '.vnfpipe/reports/vfw.cdx.json' },
      reports: [{ format: 'sarif', path: '.vnfpipe/reports/vfw.sarif' }],
    }),
    { needs: [advisories] },
  );

  const registry = p.step('registry', (ctx) => ensureLocalRegistry(ctx, registryHost), { stage: 'push' });
  const pushed = p.step(
    'push',
    push({ image: img.out, to: `${registryHost}/vnf/vfw:${faulty ? 'faulty' : 'latest'}` }),
    {
      needs: [registry, scanned],
      retries: 1,
    },
  );

  // Sign and attest the pushed digest. The key path is known at plan time; the key step makes it exist.
  const signingKey = p.step('signing-key', async (ctx) => ensureSigningKey(ctx), { stage: 'push' });
  const key = env.VFW_SIGNING_KEY ?? '.vnfpipe/keys/vfw.key';
  // The deploy verifies with the public half: the throwaway key's, or VFW_PUBLIC_KEY beside your own key.
  const publicKey = env.VFW_PUBLIC_KEY ?? (env.VFW_SIGNING_KEY ? undefined : '.vnfpipe/keys/vfw.pub');
  const signed = p.step('sign', sign({ image: pushed.out, key }), { needs: [signingKey] });
  const attested = p.step(
    'attest',
    attest({
      image: pushed.out,
      key,
      sbom: scanned.out,
      provenance: { materials: ['pipelines/vfw/src/**'] },
    }),
    { needs: [signingKey] },
  );

  const probes = [
    probe.interface({ name: 'eth0', role: 'mgmt', defaultRoute: true }),
    probe.interface({ name: 'eth1', role: 'in', defaultRoute: false }),
    probe.udp({ role: 'mgmt', port: 5000, send: 'ping', expect: 'pong', attempts: 20, interval: '200ms' }),
    probe.traffic({ from: 'in', to: 'out', port: 5000, sink, packets: 5, attempts: 2 }),
    probe.traffic({
      label: 'blocked traffic is dropped',
      from: 'in',
      to: 'out',
      port: 5000,
      sink,
      payload: 'BLOCKED',
      expect: 'dropped',
      attempts: 1,
    }),
    // Telco probes: PFCP on management, GTP-U through the data plane, the isolation matrix, a rate gate.
    probe.pfcp({ role: 'mgmt', attempts: 5 }),
    probe.gtpu({ from: 'in', to: 'out', teid, sink: { ip: sink.ip } }),
    probe.gtpu({
      from: 'in',
      to: 'out',
      teid: 0x2002,
      sink: { ip: sink.ip },
      expect: 'dropped',
      echo: false,
    }),
    probe.isolation({
      allow: [['in', 'out']],
      deny: [
        ['mgmt', 'in'],
        ['mgmt', 'out'],
      ],
      port: 5000,
      sinks: { out: sink, in: { port: sink.port } },
    }),
    // A gate gentle enough for a shared, loaded machine (the example VNF runs on half a CPU); what vfw
    // really sustains is measured by `npm run bench -- --suite dataplane`.
    probe.throughput({
      from: 'in',
      to: 'out',
      port: 5000,
      sink,
      rate: '500pps',
      duration: '1s',
      maxLoss: '5%',
      p99Latency: '200ms',
      sizes: [64, 512, 1400],
    }),
    cnf.sigterm(),
    cnf.noZombies(),
    cnf.singleProcessType(),
    cnf.logsToStdout(),
    cnf.startupTime({ maxStartupMs: 3000 }),
  ];

  const release = p.step(
    'deploy',
    deploy.docker({
      workload: {
        name,
        image: pushed.out,
        networks: [
          { role: 'mgmt', subnet: `${net}.1.0/24` },
          { role: 'in', internal: true, subnet: `${net}.2.0/24`, ip: `${net}.2.10` },
          { role: 'out', internal: true, subnet: `${net}.3.0/24`, ip: `${net}.3.10` },
        ],
        resources: { cpus: 0.5, memory: '64Mi' },
        security: { capabilities: ['NET_ADMIN'], dropCapabilities: ['MKNOD'] },
        stopGracePeriod: 5,
      },
      // Another engine than the environment's: VFW_ENGINE (unix://, tcp://, ssh://) or VFW_CONTEXT (a docker context).
      ...(env.VFW_ENGINE ? { engine: env.VFW_ENGINE } : {}),
      ...(env.VFW_CONTEXT ? { context: env.VFW_CONTEXT } : {}),
      // Deploy only what carries its signature and attestations, verified again at deploy time.
      ...(publicKey ? { trust: { key: publicKey, attestations: ['slsaprovenance', 'cyclonedx'] } } : {}),
    }),
    { needs: [signed, attested] },
  );
  const back = p.step('rollback', rollback({ release: release.out, probes }));
  p.step('verify', verify({ release: release.out, probes }), { onFailure: back });
});
