import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullCommand, pushCommand } from '../../src/cli/registry.js';
import { capture } from '../support/capture.js';
import { makeBaseLayout } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

let tmp: string;
let layout: string;
let registry: TestRegistry;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'vnfpipe-reg-harden-'));
  layout = makeBaseLayout(join(tmp, 'base'), tmp);
  registry = await startRegistry();
});
afterAll(async () => {
  await registry?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('typed failures', () => {
  it('names a host that does not resolve, with a DNS hint and no TLS hint', async () => {
    // .invalid never resolves (RFC 2606).
    const run = await capture(() =>
      pullCommand('registry.vnfpipe.invalid/vnf/app:1', `oci:${join(tmp, 'dns')}:x`),
    );
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
