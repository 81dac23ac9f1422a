/**
 * The traffic probe's verdict logic, against a stand-in runtime whose probe containers answer as scripted
 * (the real path is covered by vnf-pipeline.test.ts with the Docker engine).
 */
import { describe, expect, it } from 'vitest';
import { trafficCheck } from '../../src/verify/probes/network.js';
import { probe } from '../../src/verify/probes.js';
import type { ProbeRuntime } from '../../src/verify/runtime.js';

function runtime(sender: { exitCode: number; stdout: string; stderr: string }, sinkOutput: string) {
  const stopped: string[] = [];
  const fake = {
    release: { name: 'vfw', networks: { in: 'vfw-1-in', out: 'vfw-2-out' } },
    address: async () => '10.0.2.10',
    image: async () => 'img',
    isRunning: async () => true,
    probeContainer: async (options: { args: string[] }) => {
      const isSink = options.args[0] === 'sink';
      return {
        name: isSink ? 'sink' : 'sender',
        wait: async () => (isSink ? { exitCode: 137, stdout: sinkOutput, stderr: '' } : sender),
        remove: async () => {},
        stop: async () => {
          stopped.push(isSink ? 'sink' : 'sender');
        },
      };
    },
  };
  return { runtime: fake as unknown as ProbeRuntime, stopped };
}

const spec = (expect: 'delivered' | 'dropped') =>
  probe.traffic({
    from: 'in',
    to: 'out',
    port: 5000,
    sink: { ip: '10.0.3.20', port: 6000 },
    packets: 2,
    expect,
  }) as Extract<ReturnType<typeof probe.traffic>, { kind: 'traffic' }>;

describe('traffic probe verdicts', () => {
  it('fails when the sender could not send, even when nothing was expected to arrive', async () => {
    const { runtime: r } = runtime(
      { exitCode: 1, stdout: '', stderr: 'vnfprobe: sendto: Network is unreachable' },
      '',
    );
    const outcome = await trafficCheck(r, spec('dropped'));
    expect(outcome.passed).toBe(false);
    expect(outcome.evidence).toContain(
      'the sender on vfw-1-in failed (exit 1): vnfprobe: sendto: Network is unreachable',
    );
  });

  it('passes a drop only after the sender sent everything and the sink heard nothing', async () => {
    const { runtime: r, stopped } = runtime(
      { exitCode: 0, stdout: 'sent 2\n', stderr: '' },
      'listening 6000\n',
    );
    const outcome = await trafficCheck(r, spec('dropped'));
    expect(outcome).toMatchObject({ passed: true });
    expect(stopped).toEqual(['sink']);
  });

  it('counts delivered packets by payload', async () => {
    const sink = 'listening 6000\nfrom 10.0.3.10 vnfpipe-probe-1\nfrom 10.0.3.10 other\n';
    const { runtime: r } = runtime({ exitCode: 0, stdout: 'sent 2\n', stderr: '' }, sink);
    const outcome = await trafficCheck(r, spec('delivered'));
    expect(outcome.passed).toBe(false);
    expect(outcome.evidence).toContain('1 arrived at 10.0.3.20:6000');
  });
});
