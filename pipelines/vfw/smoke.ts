/**
 * A local smoke test of the vfw binary: start it on a loopback port, check that it answers a probe,
 * drops what its rules drop, and stops cleanly on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import type { StepContext } from 'vnfpipe';

function udpExchange(port: number, payload: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, timeoutMs);
    socket.once('message', (message) => {
      clearTimeout(timer);
      socket.close();
      resolve(message.toString());
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.close();
      reject(error);
    });
    socket.send(payload, port, '127.0.0.1');
  });
}

export async function smokeTest(ctx: StepContext, binary: string, rules: string) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn(binary, ['-c', rules, '-p', String(port), '-b', '127.0.0.1'], { cwd: ctx.cwd });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  ctx.onCleanup(() => {
    child.kill('SIGKILL');
  });
  child.stdout.on('data', (chunk: Buffer) => ctx.log(chunk.toString().trimEnd(), 'stdout'));
  child.stderr.on('data', (chunk: Buffer) => ctx.log(chunk.toString().trimEnd(), 'stderr'));

  let answer: string | undefined;
  for (let attempt = 0; attempt < 20 && answer === undefined; attempt++)
    answer = await udpExchange(port, 'ping', 100);
  if (answer !== 'pong')
    throw new Error(`probe udp:${port}: expected 'pong' to 'ping', got ${answer ?? 'no answer'}`);
  ctx.log(`udp:${port} ping → pong`);

  const dropped = await udpExchange(port, 'BLOCKED payload', 300);
  if (dropped !== undefined)
    throw new Error(`probe udp:${port}: a BLOCKED datagram was answered with '${dropped}'`);
  ctx.log(`udp:${port} BLOCKED → dropped`);

  child.kill('SIGTERM');
  const code = await exited;
  if (code !== 0) throw new Error(`vfw exited with ${code} on SIGTERM instead of stopping cleanly`);
  ctx.log('SIGTERM → clean exit 0');
  return { port, probes: 3 };
}
