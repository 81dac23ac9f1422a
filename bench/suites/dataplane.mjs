// Data-plane throughput through the example VNF (vfw): the throughput probe in search mode finds the highest
// offered rate of 64-byte UDP payloads that vfw forwards with at most 0.1% loss (RFC 2544's throughput),
// with real containers on the Docker engine. The workload has no CPU limit: this measures vfw and the
// machine, not a quota. Needs the Docker engine and a C compiler; no shared workload.
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, sh } from './util.mjs';

export const needsAnchors = false;

const DOCKER = '/usr/bin/docker';

/** Three /24s of 10.128.0.0/9 that no engine network and no host route use. */
function freeSubnets(count) {
  const ids = sh(DOCKER, ['network', 'ls', '-q']).split('\n').filter(Boolean);
  const used =
    sh(DOCKER, ['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Subnet}} {{end}}', ...ids])
      .concat(' ', sh('ip', ['-4', 'route', 'show']))
      .match(/\d+\.\d+\.\d+\.\d+\/\d+/g) ?? [];
  const toInt = (ip) => ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
  const ranges = used.map((cidr) => {
    const [ip, bits] = cidr.split('/');
    const start = toInt(ip) & ~(2 ** (32 - Number(bits)) - 1);
    return [start >>> 0, (start >>> 0) + 2 ** (32 - Number(bits)) - 1];
  });
  const picked = [];
  while (picked.length < count) {
    const start = 10 * 2 ** 24 + 128 * 2 ** 16 + randomInt(0, 128 * 256) * 256;
    const clash = (s) => ranges.some(([a, b]) => s <= b && s + 255 >= a) || picked.includes(s);
    if (!clash(start)) picked.push(start);
  }
  return picked.map((start) => `${start >>> 24}.${(start >>> 16) & 255}.${(start >>> 8) & 255}`);
}

/** A scratch image with the static vfw binary and its rules (docker import: no base image needed). */
function vfwImage(repo, dir, tag, rules) {
  sh('cc', ['-O2', '-static', '-o', join(dir, 'vfw'), join(repo, 'pipelines/vfw/src/vfw.c')]);
  writeFileSync(join(dir, 'rules.conf'), rules);
  sh('tar', ['-C', dir, '-cf', join(dir, 'image.tar'), 'vfw', 'rules.conf']);
  sh(DOCKER, ['import', '--change', 'ENTRYPOINT ["/vfw", "-c", "/rules.conf"]', join(dir, 'image.tar'), tag]);
  return tag;
}

export async function run({ repo, runs, log }) {
  const { DockerTarget } = await import(join(repo, 'dist/deploy/docker/target.js'));
  const { runProbes } = await import(join(repo, 'dist/verify/run.js'));
  const { probe } = await import(join(repo, 'dist/verify/probes.js'));
  const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-bench-dataplane-'));
  const [mgmt, data, out] = freeSubnets(3);
  const name = `vfw-bench-${process.pid.toString(36)}`;
  const sink = { ip: `${out}.20`, port: 6000 };
  const { vfwRules } = await import(join(repo, 'pipelines/vfw/rules.ts')).catch(() => ({
    vfwRules: undefined,
  }));
  const rules = vfwRules
    ? vfwRules({ sink, data: `${data}.10` })
    : `reply ping pong\ndata ${data}.10\nforward ${sink.ip} ${sink.port}\n`;
  const tag = `vnfpipe-bench/vfw:${name}`;
  const workload = {
    name,
    image: vfwImage(repo, dir, tag, rules),
    networks: [
      { role: 'mgmt', subnet: `${mgmt}.0/24` },
      { role: 'in', internal: true, subnet: `${data}.0/24`, ip: `${data}.10` },
      { role: 'out', internal: true, subnet: `${out}.0/24`, ip: `${out}.10` },
    ],
  };
  const target = new DockerTarget(join(dir, 'state'));
  const found = [];
  const cleanup = async () => {
    await target.destroy(workload).catch((error) => log(`cleanup: ${error.message}`));
    sh(DOCKER, ['rmi', '-f', tag]);
    rmSync(dir, { recursive: true, force: true });
  };
  // An interrupted bench still removes its workload, networks and image.
  const onSignal = () => {
    cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const release = await target.deploy(workload);
    const runtime = await target.probeRuntime(release);
    const searches = Math.max(1, Math.min(runs, 3));
    for (let i = 0; i < searches; i++) {
      const result = await runProbes(
        runtime,
        [
          probe.throughput({
            from: 'in',
            to: 'out',
            port: 5000,
            sink,
            rate: 'max',
            maxRate: '200kpps',
            searchTrials: 10,
            duration: '3s',
            maxLoss: '0.1%',
            sizes: [64],
          }),
        ],
        { log: (line) => log(line) },
      );
      const evidence = result.probes[0].evidence;
      const match = /64B ([\d.]+)(k|M)?pps/.exec(evidence);
      const pps = match ? Number(match[1]) * (match[2] === 'M' ? 1e6 : match[2] === 'k' ? 1e3 : 1) : 0;
      log(`search ${i + 1}/${searches}: ${evidence}`);
      found.push(pps);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
  const kpps = median(found) / 1000;
  return [
    {
      name: 'vfw 64B at ≤0.1% loss',
      value: kpps,
      unit: 'kpps',
      note: `median of ${found.length} searches: ${found.map((p) => (p / 1000).toFixed(1)).join(', ')} kpps; 3s trials`,
    },
  ];
}
