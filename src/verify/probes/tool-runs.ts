/** Running vnfprobe beside the workload: one-shot exchanges, and listeners that are ready before use. */
import { setTimeout as delay } from 'node:timers/promises';
import type { ExecResult, ProbeHandle, ProbeRuntime } from '../runtime.js';

/** The target's network for a role (the first role's when none is given), or undefined. */
export function networkOf(runtime: ProbeRuntime, role: string | undefined): string | undefined {
  return runtime.release.networks[role ?? Object.keys(runtime.release.networks)[0] ?? ''];
}

/** Runs vnfprobe once on a role's network and returns what it printed. */
export async function runTool(
  runtime: ProbeRuntime,
  role: string | undefined,
  args: string[],
  image?: string,
  timeoutMs = 30_000,
): Promise<ExecResult & { network: string }> {
  const network = networkOf(runtime, role);
  const probe = await runtime.probeContainer({
    image: image ?? (await runtime.image()),
    args,
    ...(network ? { network } : {}),
  });
  try {
    return { ...(await probe.wait(timeoutMs)), network: network ?? 'none' };
  } finally {
    await probe.remove();
  }
}

/**
 * Starts a listening vnfprobe (sink, sinkhex, count) and returns once it has bound its port, so no packet
 * sent afterwards is lost to a listener that was not there yet.
 */
export async function startListener(
  runtime: ProbeRuntime,
  options: { image: string; args: string[]; network: string; ip?: string },
): Promise<ProbeHandle> {
  const handle = await runtime.probeContainer(options);
  const deadline = Date.now() + 15_000;
  while (!(await runtime.logs(5, handle.name)).includes('listening')) {
    if (Date.now() > deadline || !(await runtime.isRunning(handle.name))) {
      const result = await handle.stop().then(() => handle.wait(5_000));
      await handle.remove();
      throw new Error(
        `the listener on ${options.network} did not start: ${(result.stderr || result.stdout).trim() || 'no output'}`,
      );
    }
    await delay(50);
  }
  return handle;
}

/** Lets a listener hear late packets for `marginMs` (or until it ends by itself), then ends it. */
export async function finish(
  runtime: ProbeRuntime,
  handle: ProbeHandle,
  marginMs: number,
): Promise<ExecResult> {
  const deadline = Date.now() + marginMs;
  while (Date.now() < deadline && (await runtime.isRunning(handle.name))) await delay(100);
  await handle.stop();
  return handle.wait(15_000);
}

/** The first line a tool printed, or its error output. */
export function firstLine(result: ExecResult): string {
  return (result.stdout.trim() || result.stderr.trim() || `no output (exit ${result.exitCode})`).split(
    '\n',
  )[0]!;
}
