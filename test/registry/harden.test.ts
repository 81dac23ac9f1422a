import { spawn } from 'node:child_process';
import dns from 'node:dns';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullCommand, pushCommand } from '../../src/cli/registry.js';
import { parseReference } from '../../src/oci/reference.js';
import { copyImage } from '../../src/registry/copy.js';
import { deadlines } from '../../src/registry/transport.js';
import { capture } from '../support/capture.js';
import { addRandomLayer, layoutDigest, makeBaseLayout } from '../support/images.js';
import { waitFor } from '../support/ports.js';
import { CLI, runCli } from '../support/project.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { startSlowProxy } from './slow-server.js';

function readManifest(dir: string, tag: string): { layers: Array<{ digest: string }> } {
  const digest = layoutDigest(dir, tag);
  return JSON.parse(readFileSync(join(dir, 'blobs', 'sha256', digest.slice(7)), 'utf8'));
}

let tmp: string;
let layout: string;
let registry: TestRegistry;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'vnfpipe-reg-harden-'));
  layout = makeBaseLayout(join(tmp, 'base'));
  registry = await startRegistry();
});
afterAll(async () => {
  await registry?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('typed failures', () => {
  it('names a host that does not resolve, with a DNS hint and no TLS hint', async () => {
    // .invalid never resolves (RFC 2606). The resolver answers here in-process, as the system resolver would,
    // so the test sends no DNS query off this machine.
    const realLookup = dns.lookup;
    let asked = 0;
    dns.lookup = ((host: string, ...rest: unknown[]) => {
      const callback = rest.at(-1) as (error: NodeJS.ErrnoException) => void;
      asked++;
      const error: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${host}`);
      error.code = 'ENOTFOUND';
      process.nextTick(callback, error);
    }) as typeof dns.lookup;
    const run = await capture(() =>
      pullCommand('registry.vnfpipe.invalid/vnf/app:1', `oci:${join(tmp, 'dns')}:x`),
    ).finally(() => {
      dns.lookup = realLookup;
    });
    expect(asked).toBeGreaterThan(0);
    expect(run.code).toBe(1);
    expect(run.err).toContain('cannot resolve host registry.vnfpipe.invalid');
    expect(run.err).toMatch(/hint: .*DNS/);
    expect(run.err).not.toMatch(/TLS|--insecure|--ca-file/);
  });

  it('reports a file-system failure during a pull as a typed error naming the path', async () => {
    const pushed = await capture(() => pushCommand(`oci:${layout}:latest`, `${registry.host}/vnf/fs:1`));
    expect(pushed.code).toBe(0);
    const file = join(tmp, 'not-a-dir');
    writeFileSync(file, 'x');
    const run = await capture(() => pullCommand(`${registry.host}/vnf/fs:1`, `oci:${file}/layout:x`));
    expect(run.err).not.toContain('unexpected error');
    expect(run.err).toContain(file);
    expect(run.code).toBe(1);
  });
});

describe('deadlines on registry reads', () => {
  // Small windows keep the test short; the behaviour is the same with the defaults (1 KiB/s over 30 s, 60 s).
  const registries = {
    default: {
      minRate: { bytesPerSecond: 1000, windowMs: 300 },
      headerTimeoutMs: 300,
      retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
    },
  };

  for (const mode of ['body', 'headers'] as const) {
    it(`drops a blob download whose ${mode} trickle${mode === 'body' ? 's' : ''} in, retries it, then names the blob`, async () => {
      const pushed = await copyImage(
        parseReference(`oci:${layout}:latest`),
        parseReference(`${registry.host}/vnf/slow-${mode}:1`),
      );
      const proxy = await startSlowProxy(registry, { mode, bytesPerTick: 1, tickMs: 100 });
      try {
        const error = await copyImage(
          parseReference(`${proxy.host}/vnf/slow-${mode}:1`),
          parseReference(`oci:${join(tmp, `slow-${mode}`)}:x`),
          { registries },
        ).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'REGISTRY_UNREACHABLE' });
        expect((error as Error).message).toContain('the registry is too slow');
        expect((error as Error).message).toContain(
          mode === 'body' ? 'below the minimum of 1000 bytes/s' : 'no complete answer within 0.3 s',
        );
        expect((error as { where: string }).where).toMatch(
          new RegExp(`^${proxy.host}/vnf/slow-${mode}@sha256:`),
        );
        expect((error as { where: string }).where).not.toContain(pushed.digest);
        // Retried as a transient failure before giving up.
        expect(proxy.blobGets).toBeGreaterThanOrEqual(2);
      } finally {
        await proxy.stop();
      }
    });
  }

  it('drops a blob upload the registry reads too slowly, retries it, then names the blob', async () => {
    // Larger than what loopback socket buffers hold, so the registry's reading sets the pace.
    addRandomLayer(layout, 'latest', 'slow-upload', 24 * 1024 * 1024);
    const big = readManifest(layout, 'slow-upload').layers.at(-1)!.digest;
    const proxy = await startSlowProxy(registry, { mode: 'upload', bytesPerTick: 16, tickMs: 50 });
    try {
      const error = await copyImage(
        parseReference(`oci:${layout}:slow-upload`),
        parseReference(`${proxy.host}/vnf/slow-upload:1`),
        // One blob at a time, largest first: the big layer is the one held up.
        { registries, concurrency: 1, blobLocations: false },
      ).catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: 'REGISTRY_UNREACHABLE',
        where: `${proxy.host}/vnf/slow-upload@${big}`,
      });
      expect((error as Error).message).toContain('the registry took');
      expect((error as Error).message).toContain('below the minimum of 1000 bytes/s');
      expect(proxy.uploads).toBeGreaterThanOrEqual(2);
    } finally {
      await proxy.stop();
    }
  });

  it('reads its limits from the environment and refuses malformed ones', () => {
    expect(
      deadlines({ env: { VNFPIPE_REGISTRY_MIN_RATE: '2048/10', VNFPIPE_REGISTRY_HEADER_TIMEOUT: '5' } }),
    ).toEqual({
      minRate: { bytesPerSecond: 2048, windowMs: 10_000 },
      headerTimeoutMs: 5000,
    });
    expect(() => deadlines({ env: { VNFPIPE_REGISTRY_MIN_RATE: 'fast' } })).toThrow(
      expect.objectContaining({ code: 'USAGE', where: 'VNFPIPE_REGISTRY_MIN_RATE' }),
    );
  });
});

describe('staging folders of interrupted pulls', () => {
  it('a SIGKILLed pull leaves its staging folder, and the next pull removes it but not a live one', async () => {
    await copyImage(parseReference(`oci:${layout}:latest`), parseReference(`${registry.host}/vnf/killed:1`));
    const proxy = await startSlowProxy(registry, { mode: 'body', bytesPerTick: 16, tickMs: 50 });
    const parent = join(tmp, 'kill');
    mkdirSync(parent);
    const staging = () => readdirSync(parent).filter((name) => name.startsWith('.out.vnfpipe-pull-'));
    try {
      const child = spawn(
        process.execPath,
        [CLI, 'pull', `${proxy.host}/vnf/killed:1`, `oci:${join(parent, 'out')}:x`],
        {
          stdio: 'ignore',
        },
      );
      const exited = new Promise((resolve) => child.once('exit', resolve));
      // Midway: a blob is being written into the staging folder.
      const [stage] = await waitFor('a staged blob', async () => {
        const found = staging();
        return found.length && readdirSync(join(parent, found[0]!)).length ? found : undefined;
      });
      expect(stage).toBe(`.out.vnfpipe-pull-${child.pid}-${stage!.split('-').at(-1)}`);
      child.kill('SIGKILL');
      await exited;
      expect(staging()).toEqual([stage]);
      // A concurrent pull's folder: its PID (this test process) runs.
      const live = `.out.vnfpipe-pull-${process.pid}-0123456789ab`;
      mkdirSync(join(parent, live));

      const again = await runCli(parent, ['pull', `${registry.host}/vnf/killed:1`, 'oci:out:x']);
      expect(again.stderr).not.toContain('error');
      expect(again.code).toBe(0);
      expect(staging()).toEqual([live]);
      expect(statSync(join(parent, 'out', 'index.json')).isFile()).toBe(true);
    } finally {
      await proxy.stop();
    }
  });
});
