/**
 * Archives for a container hold the modes and owners they are given: the deploying process's umask and
 * user play no part (the archive is written in memory, not from scratch files).
 */
import { describe, expect, it } from 'vitest';
import { archiveOf } from '../../src/deploy/docker/container-files.js';
import { tarOf } from '../../src/deploy/docker/engine-ops.js';
import { type TarEntry, TarReader } from '../../src/scan/image/tar.js';

function entries(archive: Buffer): TarEntry[] {
  const found: TarEntry[] = [];
  const reader = new TarReader('test archive', (entry) => {
    found.push(entry);
    return undefined;
  });
  reader.write(archive);
  reader.finish();
  return found;
}

describe('container archives', () => {
  it('keep declared modes under umask 077 (tarOf, used to copy probes into containers)', async () => {
    const old = process.umask(0o077);
    try {
      const archive = await tarOf([
        { path: '/vnfprobe', data: 'bin', mode: 0o755 },
        { path: '/etc/plain.conf', data: 'x' },
      ]);
      expect(entries(archive).map((e) => [e.path, e.mode & 0o7777, e.uid, e.gid])).toEqual([
        ['vnfprobe', 0o755, 0, 0],
        ['etc/plain.conf', 0o644, 0, 0],
      ]);
    } finally {
      process.umask(old);
    }
  });

  it('carry the owner they are given and no parent directories (existing ones keep theirs)', () => {
    const archive = archiveOf([{ path: 'vnf/vnf.conf', data: 'x', mode: 0o640, uid: 65534, gid: 65534 }]);
    expect(entries(archive).map((e) => [e.path, e.kind, e.mode & 0o7777, e.uid, e.gid])).toEqual([
      ['vnf/vnf.conf', 'file', 0o640, 65534, 65534],
    ]);
  });
});
