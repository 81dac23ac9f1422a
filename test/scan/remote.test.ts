/**
 * `vnfpipe scan host/repo:tag`: the image is pulled through the project's registry client (credentials and
 * TLS options as for push/pull) into a temporary layout, scanned like a layout, and the layout removed.
 */
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanCommand } from '../../src/cli/scan.ts';
import { parseReference } from '../../src/oci/reference.ts';
import { copyImage } from '../../src/registry/copy.ts';
import { scanImage } from '../../src/scan/scanner.ts';
import { type AuthRegistry, startTlsBasicRegistry } from '../support/registry-auth.ts';
import { fixtureDb } from './support/fixtures.ts';
import { appImage } from './support/images.ts';

const PASSWORD = 'scan-remote-s3cret';
let registry: AuthRegistry;
let layoutRef: string;
let remote: string;
let db: string;

const pulls = () => readdirSync(tmpdir()).filter((n) => n.startsWith('vnfpipe-scan-pull-')).length;

beforeAll(async () => {
  registry = await startTlsBasicRegistry({ scanner: PASSWORD });
  db = await fixtureDb('debian', 'lang');
  layoutRef = appImage({}, 'v1');
  remote = `${registry.host}/vnf/app-${process.pid}:v1`;
  await copyImage(parseReference(layoutRef), parseReference(remote), {
    registries: {
      [registry.host]: {
        caFile: registry.caFile!,
        credentials: { kind: 'basic', username: 'scanner', password: PASSWORD },
      },
    },
  });
}, 60_000);

afterAll(async () => {
  await registry?.stop();
});

describe('scan a registry reference', () => {
  it('pulls with the given credentials and finds what a scan of the layout finds', async () => {
    const before = pulls();
    const local = await scanImage(layoutRef, { db });
    const pulled = await scanImage(remote, {
      db,
      registry: {
        caFile: registry.caFile!,
        credentials: { kind: 'basic', username: 'scanner', password: PASSWORD },
      },
    });
    expect(pulled.image.digest).toBe(local.image.digest);
    expect(pulled.image.ref).toBe(remote);
    expect(pulled.image.tag).toBe('v1');
    expect(pulled.packages).toEqual(local.packages);
    expect(pulled.vulnerabilities.map((v) => v.id)).toEqual(local.vulnerabilities.map((v) => v.id));
    expect(pulled.vulnerabilities.length).toBeGreaterThan(0);
    // The temporary layout is gone.
    expect(pulls()).toBe(before);
  });

  it('CLI: --creds and --ca-file as for pull; exit 1 on the vulnerable image, 2 without credentials', async () => {
    const out = { stdout: '', stderr: '' };
    const io = { stdout: (t: string) => (out.stdout += t), stderr: (t: string) => (out.stderr += t) };
    const code = await scanCommand(
      remote,
      { db, creds: `scanner:${PASSWORD}`, caFile: registry.caFile!, format: 'json' },
      io,
    );
    expect(code, out.stderr).toBe(1);
    expect(JSON.parse(out.stdout).image.ref).toBe(remote);
    const denied = { stdout: '', stderr: '' };
    const deniedIo = {
      stdout: (t: string) => (denied.stdout += t),
      stderr: (t: string) => (denied.stderr += t),
    };
    const noCreds = await scanCommand(
      remote,
      { db, creds: 'scanner:wrong-password', caFile: registry.caFile! },
      deniedIo,
    );
    expect(noCreds).toBe(2);
    expect(denied.stderr).toMatch(/^vnfpipe: error: .*authentication failed/im);
    expect(denied.stderr).not.toContain('wrong-password');
    expect(denied.stderr).not.toContain(PASSWORD);
  });
});
