import { describe, expect, it } from 'vitest';
import { VnfpipeError } from '../../src/errors.js';
import { parseImageConfig } from '../../src/oci/config.js';
import { sha256, verifyDigest } from '../../src/oci/digest.js';
import { parseIndex, parseManifest, parseManifestOrIndex, selectPlatform } from '../../src/oci/manifest.js';
import { MediaType } from '../../src/oci/media-types.js';
import { platformMatches } from '../../src/oci/platform.js';

const D = `sha256:${'b'.repeat(64)}` as const;
const manifest = {
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  config: { mediaType: MediaType.ociConfig, digest: D, size: 10 },
  layers: [{ mediaType: MediaType.ociLayerGzip, digest: D, size: 20 }],
};

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(VnfpipeError);
    expect((error as VnfpipeError).where).toBe('file.json');
    return (error as VnfpipeError).code;
  }
  return undefined;
}

describe('OCI documents', () => {
  it('reads OCI and Docker v2 manifests', () => {
    expect(parseManifest(JSON.stringify(manifest)).layers).toHaveLength(1);
    const docker = {
      ...manifest,
      mediaType: MediaType.dockerManifest,
      config: { ...manifest.config, mediaType: MediaType.dockerConfig },
    };
    expect(parseManifest(JSON.stringify(docker)).mediaType).toBe(MediaType.dockerManifest);
  });

  it.each([
    ['malformed JSON', '{"schemaVersion": 2,'],
    ['not an object', '[1,2]'],
    ['schema 1', JSON.stringify({ ...manifest, schemaVersion: 1 })],
    ['wrong media type', JSON.stringify({ ...manifest, mediaType: 'text/plain' })],
    [
      'an index passed as a manifest',
      JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] }),
    ],
    ['bad digest', JSON.stringify({ ...manifest, config: { ...manifest.config, digest: 'sha256:nothex' } })],
    ['negative size', JSON.stringify({ ...manifest, config: { ...manifest.config, size: -1 } })],
    ['layers not an array', JSON.stringify({ ...manifest, layers: {} })],
    ['annotation not a string', JSON.stringify({ ...manifest, annotations: { a: 1 } })],
  ])('refuses a manifest with %s as OCI_INVALID', (_name, text) => {
    expect(codeOf(() => parseManifest(text, 'file.json'))).toBe('OCI_INVALID');
  });

  it('refuses documents over 4 MiB before parsing them', () => {
    const big = JSON.stringify({ ...manifest, annotations: { pad: 'x'.repeat(4 * 1024 * 1024) } });
    expect(codeOf(() => parseManifest(big, 'file.json'))).toBe('OCI_INVALID');
  });

  it('checks the media type announced by the descriptor', () => {
    expect(codeOf(() => parseManifest(JSON.stringify(manifest), 'file.json', MediaType.dockerManifest))).toBe(
      'OCI_INVALID',
    );
  });

  it('reads indexes and picks a platform (arm64 variant defaults to v8)', () => {
    const index = parseIndex(
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: MediaType.ociManifest,
            digest: D,
            size: 1,
            platform: { os: 'linux', architecture: 'amd64' },
          },
          {
            mediaType: MediaType.ociManifest,
            digest: `sha256:${'c'.repeat(64)}`,
            size: 1,
            platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
          },
        ],
      }),
    );
    expect(selectPlatform(index, { os: 'linux', architecture: 'arm64' })?.digest).toBe(
      `sha256:${'c'.repeat(64)}`,
    );
    expect(selectPlatform(index, { os: 'linux', architecture: 's390x' })).toBeUndefined();
    expect(
      platformMatches(
        { os: 'linux', architecture: 'arm', variant: 'v7' },
        { os: 'linux', architecture: 'arm', variant: 'v6' },
      ),
    ).toBe(false);
    expect(parseManifestOrIndex(JSON.stringify({ schemaVersion: 2, manifests: [] })).kind).toBe('index');
  });

  it('validates image configs', () => {
    const config = {
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [D] },
      config: { Env: ['A=1'], ExposedPorts: { '80/tcp': {} } },
    };
    expect(parseImageConfig(JSON.stringify(config)).config?.Env).toEqual(['A=1']);
    expect(
      codeOf(() =>
        parseImageConfig(JSON.stringify({ ...config, rootfs: { type: 'x', diff_ids: [] } }), 'file.json'),
      ),
    ).toBe('OCI_INVALID');
    expect(
      codeOf(() => parseImageConfig(JSON.stringify({ ...config, config: { Env: 'A=1' } }), 'file.json')),
    ).toBe('OCI_INVALID');
  });

  it('verifies digests', () => {
    const data = Buffer.from('hello');
    expect(() => verifyDigest(data, sha256(data))).not.toThrow();
    try {
      verifyDigest(data, D, 'blob');
      expect.unreachable();
    } catch (error) {
      expect((error as VnfpipeError).code).toBe('OCI_DIGEST_MISMATCH');
    }
  });
});
