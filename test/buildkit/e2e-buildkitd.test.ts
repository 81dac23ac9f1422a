/**
 * Opt-in: a real standalone buildkitd at VNFPIPE_E2E_BUILDKIT_HOST (unix:// or tcp://; TLS files from
 * VNFPIPE_E2E_BUILDKIT_TLSCACERT/_TLSCERT/_TLSKEY). It cannot run on the CI machines of this repository.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBuildkitAddress } from '../../src/buildkit/address.js';
import { BuildkitClient } from '../../src/buildkit/client.js';
import { buildDockerfile } from '../../src/buildkit/dockerfile.js';

function addressFromEnv() {
  const env = process.env;
  return parseBuildkitAddress(host, env, {
    ...(env.VNFPIPE_E2E_BUILDKIT_TLSCACERT ? { ca: env.VNFPIPE_E2E_BUILDKIT_TLSCACERT } : {}),
    ...(env.VNFPIPE_E2E_BUILDKIT_TLSCERT ? { cert: env.VNFPIPE_E2E_BUILDKIT_TLSCERT } : {}),
    ...(env.VNFPIPE_E2E_BUILDKIT_TLSKEY ? { key: env.VNFPIPE_E2E_BUILDKIT_TLSKEY } : {}),
  });
}

const host = process.env.VNFPIPE_E2E_BUILDKIT_HOST;

describe.skipIf(!host)('real buildkitd (VNFPIPE_E2E_BUILDKIT_HOST is not set)', () => {
  it('probes the server and lists its workers and disk usage', async () => {
    const address = addressFromEnv();
    const client = await BuildkitClient.connect(address);
    try {
      const info = await client.probe();
      expect(info.embedded).toBe(false);
      expect(info.workers.length).toBeGreaterThan(0);
      expect(Array.isArray((await client.control.diskUsage({})).record)).toBe(true);
    } finally {
      client.close();
    }
  });

  it('builds a Dockerfile into an OCI layout through the oci exporter (FileSend), and umoci unpacks it', async () => {
    const context = mkdtempSync(join(tmpdir(), 'vnfpipe-e2e-bkd-'));
    writeFileSync(join(context, 'hello.txt'), 'from a standalone buildkitd\n');
    writeFileSync(join(context, 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /hello.txt\n');
    const layout = join(context, 'oci');
    const built = await buildDockerfile({
      context,
      layout,
      name: 'app',
      noCache: true,
      address: addressFromEnv(),
    });
    expect(built.ref).toBe(`oci:${layout}:app`);
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${layout}:app`, join(context, 'bundle')]);
    expect(execFileSync('cat', [join(context, 'bundle', 'rootfs', 'hello.txt')]).toString()).toBe(
      'from a standalone buildkitd\n',
    );
  });
});
