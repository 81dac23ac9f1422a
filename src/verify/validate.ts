/** Checks the telco probes' options when the pipeline is planned, so a typo fails before anything deploys. */
import { VnfpipeError } from '../errors.js';
import { parseDuration } from '../pipeline/duration.js';
import { parseLoss, parseRate } from './probes/rates.js';
import { type ProbeSpec, probeName } from './probes.js';

export function validateProbe(spec: ProbeSpec, where: string): void {
  const what = `${where}: probe ${probeName(spec)}`;
  const invalid = (message: string, hint: string) =>
    new VnfpipeError('PIPELINE_INVALID', `${what}: ${message}`, { hint });
  switch (spec.kind) {
    case 'gtpu':
      if (!Number.isInteger(spec.teid) || spec.teid < 0 || spec.teid > 0xffffffff)
        throw invalid(
          `TEID ${spec.teid} is not a 32-bit number`,
          'a tunnel endpoint identifier from 0 to 4294967295',
        );
      return;
    case 'isolation': {
      const pairs = [...(spec.allow ?? []), ...(spec.deny ?? [])];
      if (pairs.length === 0)
        throw invalid('no allow or deny pairs', "e.g. allow: [['in', 'out']], deny: [['mgmt', 'out']]");
      const bad = pairs.find(
        (p) => !Array.isArray(p) || p.length !== 2 || p.some((r) => typeof r !== 'string'),
      );
      if (bad)
        throw invalid(`${JSON.stringify(bad)} is not a [from, to] pair of roles`, "e.g. ['mgmt', 'out']");
      return;
    }
    case 'throughput': {
      if (spec.rate !== 'max') parseRate(spec.rate, `${what}: rate`);
      if (spec.maxRate !== undefined) parseRate(spec.maxRate, `${what}: maxRate`);
      if (spec.minRate !== undefined) parseRate(spec.minRate, `${what}: minRate`);
      parseLoss(spec.maxLoss, `${what}: maxLoss`);
      parseDuration(spec.duration ?? '3s', `${what}: duration`);
      if (spec.p99Latency !== undefined) parseDuration(spec.p99Latency, `${what}: p99Latency`);
      const size = (spec.sizes ?? []).find((s) => !Number.isInteger(s) || s < 24 || s > 8972);
      if (size !== undefined)
        throw invalid(
          `size ${size} is out of range`,
          'UDP payload sizes from 24 (sequence number and time stamp) to 8972 bytes',
        );
      return;
    }
    case 'icmp':
      if (!Number.isInteger(spec.size) || spec.size < 0 || spec.size > 65000)
        throw invalid(`size ${spec.size} is out of range`, 'ICMP payload bytes from 0 to 65000');
      return;
    default:
      return;
  }
}
