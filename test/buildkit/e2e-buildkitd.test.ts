/**
 * Opt-in: a real standalone buildkitd at VNFPIPE_E2E_BUILDKIT_HOST (unix:// or tcp://; TLS files from
 * VNFPIPE_E2E_BUILDKIT_TLSCACERT/_TLSCERT/_TLSKEY). It cannot run on the CI machines of this repository.
 */
import { describe, expect, it } from 'vitest';
import { parseBuildkitAddress } from '../../src/buildkit/address.js';
import { BuildkitClient } from '../../src/buildkit/client.js';

const host = process.env.VNFPIPE_E2E_BUILDKIT_HOST;

describe.skipIf(!host)('real buildkitd (VNFPIPE_E2E_BUILDKIT_HOST is not set)', () => {
  it('probes the server and lists its workers and disk usage', async () => {
    const env = process.env;
    const address = parseBuildkitAddress(host, env, {
      ...(env.VNFPIPE_E2E_BUILDKIT_TLSCACERT ? { ca: env.VNFPIPE_E2E_BUILDKIT_TLSCACERT } : {}),
      ...(env.VNFPIPE_E2E_BUILDKIT_TLSCERT ? { cert: env.VNFPIPE_E2E_BUILDKIT_TLSCERT } : {}),
      ...(env.VNFPIPE_E2E_BUILDKIT_TLSKEY ? { key: env.VNFPIPE_E2E_BUILDKIT_TLSKEY } : {}),
    });
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
});
