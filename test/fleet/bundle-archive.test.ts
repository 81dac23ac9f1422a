/**
 * Hostile and damaged bundle files: each is refused as malformed (BUNDLE_INVALID, exit 2) with the member
 * named, before anything is read from a member, and nothing is ever written (the reader extracts nothing).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VnfpipeError } from '../../src/errors.js';
import { ArchiveWriter, BundleArchive } from '../../src/fleet/bundle/archive.js';
import type { BundleImage } from '../../src/fleet/bundle/format.js';
import { parseSiteDestination, siteReference } from '../../src/fleet/bundle/push.js';
import { verifyBundle } from '../../src/fleet/bundle/verify.js';
import { encodeTarHeader, paddingFor, type TarHeader, tarTrailer } from '../../src/image/tar.js';
import { makeProject, runCli } from '../support/project.js';

const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-bundle-archive-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function member(header: Partial<TarHeader> & { path: string }, body = Buffer.alloc(0)): Buffer {
  const full: TarHeader = {
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime: 0,
    ...header,
  };
  return Buffer.concat([encodeTarHeader(full), body, Buffer.alloc(paddingFor(body.length))]);
}

function tarFile(name: string, ...members: Buffer[]): string {
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([...members, tarTrailer()]));
  return path;
}

async function refusal(path: string): Promise<VnfpipeError> {
  const error = await verifyBundle(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VnfpipeError);
  return error as VnfpipeError;
}

describe('bundle archive reader', () => {
  const layout = member({ path: 'oci-layout' }, Buffer.from('{"imageLayoutVersion":"1.0.0"}'));

  it('indexes a tar the writer wrote and streams a member from its offset', async () => {
    const path = join(dir, 'ok.tar');
    const writer = await ArchiveWriter.create(path);
    await writer.addBuffer('a.txt', Buffer.from('hello'));
    async function* chunks() {
      yield Buffer.from('x'.repeat(700));
      yield Buffer.from('y'.repeat(300));
    }
    await writer.addStream('blobs/sha256/big', 1000, chunks());
    await writer.finish();
    const archive = await BundleArchive.open(path);
    expect(archive.names()).toEqual(['a.txt', 'blobs/sha256/big']);
    expect((await archive.read('a.txt', 100)).toString()).toBe('hello');
    const parts: Buffer[] = [];
    for await (const chunk of archive.stream(archive.member('blobs/sha256/big')!, 695, 705))
      parts.push(chunk);
    expect(Buffer.concat(parts).toString()).toBe('xxxxxyyyyy');
  });

  it('refuses a stream that gives other than the promised size, and leaves no file', async () => {
    const path = join(dir, 'short.tar');
    const writer = await ArchiveWriter.create(path);
    async function* short() {
      yield Buffer.from('abc');
    }
    await expect(writer.addStream('blobs/sha256/x', 10, short())).rejects.toThrow(
      /3 bytes, its descriptor says 10/,
    );
    await writer.abort();
    expect(existsSync(path)).toBe(false);
    expect(existsSync(`${path}.${process.pid}.partial`)).toBe(false);
  });

  it("removes what a killed create left, never a live writer's file", async () => {
    const path = join(dir, 'again.tar');
    const dead = `${path}.999999999.partial`;
    const live = `${path}.${process.ppid}.partial`;
    writeFileSync(dead, 'half a bundle');
    writeFileSync(live, 'being written');
    const writer = await ArchiveWriter.create(path);
    await writer.abort();
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });

  it('refuses a member that escapes with ..', async () => {
    const path = tarFile(
      'traversal.tar',
      layout,
      member({ path: '../escaped-by-bundle' }, Buffer.from('pwned')),
    );
    const error = await refusal(path);
    expect(error.code).toBe('BUNDLE_INVALID');
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(/"\.\.\/escaped-by-bundle" escapes the bundle/);
    expect(existsSync(join(dir, '..', 'escaped-by-bundle'))).toBe(false);
  });

  it('refuses an absolute member name', async () => {
    const error = await refusal(
      tarFile('absolute.tar', layout, member({ path: '/etc/evil' }, Buffer.from('x'))),
    );
    expect(error.message).toMatch(/"\/etc\/evil" has an absolute path/);
  });

  it('refuses symbolic and hard links', async () => {
    const symlink = await refusal(
      tarFile('symlink.tar', layout, member({ path: 'blobs', type: 'symlink', linkname: '/etc' })),
    );
    expect(symlink.message).toMatch(/"blobs" is a symbolic link: a bundle holds only files and directories/);
    const hardlink = await refusal(
      tarFile(
        'hardlink.tar',
        layout,
        member({ path: 'index.json', type: 'hardlink', linkname: 'oci-layout' }),
      ),
    );
    expect(hardlink.message).toMatch(/is a hard link/);
  });

  it('refuses a huge pax header without reading it', async () => {
    const pax = Buffer.alloc(2 * 1024 * 1024, 'a');
    const header = encodeTarHeader({
      path: 'x',
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: pax.length,
      mtime: 0,
    });
    header[156] = 'x'.charCodeAt(0);
    let sum = 0;
    header.fill(0x20, 148, 156);
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
    const error = await refusal(tarFile('pax.tar', layout, header, pax, member({ path: 'y' })));
    expect(error.message).toMatch(/pax header of 2097152 bytes \(at most 65536 accepted\)/);
  });

  it('refuses a truncated archive, a damaged header and a duplicate member', async () => {
    const whole = Buffer.concat([layout, member({ path: 'blob' }, Buffer.alloc(4096, 1))]);
    const cut = join(dir, 'cut.tar');
    writeFileSync(cut, whole.subarray(0, 1200));
    expect((await refusal(cut)).message).toMatch(/truncated/);
    const damaged = Buffer.from(whole);
    damaged[1024 + 8] = damaged[1024 + 8]! ^ 0xff; // the second member's name
    const damagedPath = join(dir, 'damaged.tar');
    writeFileSync(damagedPath, damaged);
    expect((await refusal(damagedPath)).message).toMatch(/checksum mismatch/);
    expect((await refusal(tarFile('twice.tar', layout, layout))).message).toMatch(
      /"oci-layout" appears twice/,
    );
  });

  it('refuses a tar that is not a bundle', async () => {
    const error = await refusal(tarFile('plain.tar', member({ path: 'readme.txt' }, Buffer.from('hi'))));
    expect(error.message).toMatch(/no oci-layout member/);
  });

  it('exits 2 from the CLI with the reason', async () => {
    const path = tarFile('cli-traversal.tar', layout, member({ path: 'a/../../x' }, Buffer.from('x')));
    const result = await runCli(dir, ['bundle', 'verify', path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /vnfpipe: error: .*cli-traversal.tar \(header at byte 1024\): member "a\/\.\.\/\.\.\/x" escapes the bundle/,
    );
  });
});

describe('bundle create inputs', () => {
  it('says which stage to run when no run recorded the images', async () => {
    const project = makeProject({
      'vnfpipe.config.ts': `import { definePipeline, deploy, push } from 'vnfpipe';
export default definePipeline('never-ran', (p) => {
  const pushed = p.step('push', push({ image: 'oci:oci:app', to: '127.0.0.1:1/vnf/app:1' }));
  p.step('deploy', deploy.docker({ workload: { name: 'x', image: pushed.out } }));
});
`,
    });
    try {
      const result = await project.cli(['bundle', 'create', '-o', 'release.tar']);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/no run of 'never-ran' recorded the output of 'push'/);
      expect(result.stderr).toMatch(/run the pipeline \(at least its push stage\) before bundling it/);
      expect(existsSync(join(project.dir, 'release.tar'))).toBe(false);
    } finally {
      rmSync(project.dir, { recursive: true, force: true });
    }
  });

  it('refuses an image that is only in a local layout', async () => {
    const project = makeProject({
      'vnfpipe.config.ts': `import { definePipeline, deploy } from 'vnfpipe';
export default definePipeline('layout-only', (p) => {
  p.step('deploy', deploy.docker({ workload: { name: 'x', image: 'oci:.vnfpipe/oci:app' } }));
});
`,
    });
    try {
      const result = await project.cli(['bundle', 'create', '-o', 'release.tar']);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/step deploy: image oci:\.vnfpipe\/oci:app is not in a registry/);
    } finally {
      rmSync(project.dir, { recursive: true, force: true });
    }
  });
});

describe('bundle site destination', () => {
  it('takes host[:port][/prefix] and changes only the registry part of references', () => {
    expect(parseSiteDestination('registry.site-a:5000')).toEqual({ registry: 'registry.site-a:5000' });
    expect(parseSiteDestination('127.0.0.1:5000/mirror/vnf/')).toEqual({
      registry: '127.0.0.1:5000',
      prefix: 'mirror/vnf',
    });
    const image = { repository: 'vnf/vfw', tag: '1', digest: `sha256:${'a'.repeat(64)}` } as BundleImage;
    expect(siteReference(image, 'site:5000', 'mirror')).toBe(
      `site:5000/mirror/vnf/vfw:1@sha256:${'a'.repeat(64)}`,
    );
  });

  it('refuses a destination without a registry host, or with an invalid prefix', () => {
    expect(() => parseSiteDestination('mirror/vnf')).toThrow(/no registry host/);
    expect(() => parseSiteDestination('site:5000/Upper Case')).toThrow(/invalid site registry/);
  });
});
