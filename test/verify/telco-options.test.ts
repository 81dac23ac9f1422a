/** The telco probes' options, checked at plan time, and the rate search on a scripted device. */
import { describe, expect, it } from 'vitest';
import { EXIT, VnfpipeError } from '../../src/errors.js';
import { formatRate, parseLoss, parseRate } from '../../src/verify/probes/rates.js';
import { searchRate } from '../../src/verify/probes/throughput.js';
import { probe } from '../../src/verify/probes.js';
import { verify } from '../../src/verify/step.js';

const release = { name: 'vfw' } as never;
const planned = (spec: ReturnType<typeof probe.throughput>) => () =>
  verify({ release, probes: [spec] }).validate?.({ release, probes: [spec] } as never);

describe('telco probe options', () => {
  it('reads rates and loss ratios as pipelines write them', () => {
    expect(parseRate('20kpps', 'rate')).toBe(20_000);
    expect(parseRate('1.5Mpps', 'rate')).toBe(1_500_000);
    expect(parseRate(500, 'rate')).toBe(500);
    expect(parseLoss('0.1%', 'loss')).toBeCloseTo(0.001);
    expect(parseLoss(undefined, 'loss')).toBeCloseTo(0.001);
    expect(formatRate(20_000)).toBe('20kpps');
    expect(formatRate(1_250_000)).toBe('1.25Mpps');
  });

  it('refuses a bad rate, loss, size or pair at plan time, naming the probe (exit 2)', () => {
    const base = { from: 'in', to: 'out', port: 5000, sink: { ip: '10.0.3.20', port: 6000 } };
    const bad = [
      [
        probe.throughput({ ...base, rate: '20kbps' }),
        /throughput in→out 20kbps: rate: '20kbps' is not a packet rate/,
      ],
      [
        probe.throughput({ ...base, rate: '1kpps', maxLoss: '5 percent' }),
        /maxLoss: '5 percent' is not a loss ratio/,
      ],
      [probe.throughput({ ...base, rate: '1kpps', sizes: [64, 12] }), /size 12 is out of range/],
      [probe.isolation({ port: 5000, deny: [['mgmt']] }), /\["mgmt"\] is not a \[from, to\] pair/],
      [
        probe.gtpu({ from: 'in', teid: 2 ** 32, sink: { ip: '10.0.3.20' } }),
        /TEID 4294967296 is not a 32-bit/,
      ],
    ] as const;
    for (const [spec, message] of bad) {
      let error: unknown;
      try {
        planned(spec)();
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(VnfpipeError);
      expect((error as VnfpipeError).message).toMatch(message);
      expect((error as VnfpipeError).exitCode).toBe(EXIT.usage);
    }
  });
});

describe('rate search (RFC 2544 throughput)', () => {
  it('narrows to the highest passing rate of a device that drops above 73kpps', async () => {
    const tried: number[] = [];
    const found = await searchRate(200_000, 12, async (pps) => {
      tried.push(pps);
      return pps <= 73_000;
    });
    expect(found).toBeLessThanOrEqual(73_000);
    expect(found).toBeGreaterThan(73_000 * 0.95);
    expect(tried[0]).toBe(200_000);
  });

  it('returns the ceiling when it passes, and 0 when nothing does', async () => {
    expect(await searchRate(1000, 5, async () => true)).toBe(1000);
    expect(await searchRate(1000, 5, async () => false)).toBe(0);
  });
});
