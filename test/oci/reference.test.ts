import { describe, expect, it } from 'vitest';
import { VnfpipeError } from '../../src/errors.js';
import {
  familiarName,
  formatReference,
  parseReference,
  parseRegistryReference,
} from '../../src/oci/reference.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('image references', () => {
  it.each([
    ['alpine', 'docker.io', 'library/alpine', 'latest', undefined],
    ['alpine:3.20', 'docker.io', 'library/alpine', '3.20', undefined],
    ['user/app', 'docker.io', 'user/app', 'latest', undefined],
    ['localhost:5000/vnf/vfw:1', 'localhost:5000', 'vnf/vfw', '1', undefined],
    ['localhost/vfw', 'localhost', 'vfw', 'latest', undefined],
    ['ghcr.io/org/a/b:v1.2', 'ghcr.io', 'org/a/b', 'v1.2', undefined],
    [`ghcr.io/org/a@${D}`, 'ghcr.io', 'org/a', undefined, D],
    [`ghcr.io/org/a:t@${D}`, 'ghcr.io', 'org/a', 't', D],
    ['index.docker.io/library/busybox', 'docker.io', 'library/busybox', 'latest', undefined],
    ['docker://127.0.0.1:5000/x', '127.0.0.1:5000', 'x', 'latest', undefined],
  ])('%s', (text, registry, repository, tag, digest) => {
    const ref = parseRegistryReference(text);
    expect(ref).toMatchObject({ transport: 'registry', registry, repository });
    expect(ref.tag).toBe(tag);
    expect(ref.digest).toBe(digest);
  });

  it('parses oci layout refs like skopeo (dir up to the first colon, the rest is the ref)', () => {
    expect(parseReference('oci:/tmp/l:app:1')).toEqual({ transport: 'oci', dir: '/tmp/l', ref: 'app:1' });
    expect(parseReference('oci:.vnfpipe/oci')).toEqual({ transport: 'oci', dir: '.vnfpipe/oci' });
    expect(formatReference(parseReference('oci:/tmp/l:latest'))).toBe('oci:/tmp/l:latest');
  });

  it('formats and shortens', () => {
    expect(formatReference(parseReference('alpine'))).toBe('docker.io/library/alpine:latest');
    expect(familiarName(parseRegistryReference('docker.io/library/alpine:3'))).toBe('alpine:3');
    expect(familiarName(parseRegistryReference('localhost:5000/a:1'))).toBe('localhost:5000/a:1');
  });

  it.each(['', 'UPPER/case', 'a:b:c', 'a@sha256:xyz', 'oci:', 'oci::ref', 'a/b:bad tag', 'oci:/x:'])(
    'refuses %j',
    (text) => {
      expect(() => parseReference(text)).toThrow(VnfpipeError);
    },
  );
});
