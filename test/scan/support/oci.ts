/** Test helpers: tar archives built entry by entry (including hostile ones) and OCI layouts around them. */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface TestEntry {
  /** A Buffer keeps a name's raw bytes (names that are not UTF-8). */
  path: string | Buffer;
  type?:
    | 'file'
    | 'dir'
    | 'symlink'
    | 'hardlink'
    | 'char'
    | 'block'
    | 'fifo'
    | 'pax'
    | 'global-pax'
    | 'sparse';
  mode?: number;
  uid?: number;
  data?: string | Buffer;
  linkname?: string;
  /** Size to write in the header instead of the data's length (hostile headers). */
  sizeOverride?: number;
}

const TYPE: Record<string, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
  pax: 'x',
  'global-pax': 'g',
  sparse: 'S',
};

function header(e: TestEntry, size: number): Buffer {
  const h = Buffer.alloc(512);
  const name = Buffer.isBuffer(e.path) ? e.path : Buffer.from(e.path, 'utf8');
  if (name.length > 100) throw new Error(`test path too long: ${name}`);
  name.copy(h, 0);
  const type = e.type ?? 'file';
  const octal = (offset: number, length: number, value: number) =>
    h.write(value.toString(8).padStart(length - 1, '0'), offset, length - 1, 'latin1');
  octal(100, 8, e.mode ?? (type === 'dir' ? 0o755 : 0o644));
  octal(108, 8, e.uid ?? 0);
  octal(116, 8, 0);
  if (size > 0o77777777777) {
    // GNU base-256 for sizes octal cannot hold.
    h[124] = 0x80;
    let v = BigInt(size);
    for (let i = 135; i > 124; i--) {
      h[i] = Number(v & 0xffn);
      v >>= 8n;
    }
  } else octal(124, 12, size);
  octal(136, 12, 0);
  h.fill(0x20, 148, 156);
  h.write(TYPE[type]!, 156, 1, 'latin1');
  if (e.linkname) h.write(e.linkname, 157, 100, 'utf8');
  h.write('ustar\u000000', 257, 8, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'latin1');
  return h;
}

export function makeTar(entries: TestEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data =
      e.data === undefined ? Buffer.alloc(0) : Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data);
    parts.push(header(e, e.sizeOverride ?? data.length));
    if (data.length) {
      parts.push(data);
      const pad = (512 - (data.length % 512)) % 512;
      if (pad) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

function sha(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export interface LayerBlob {
  /** Compressed (or raw) bytes as stored. */
  blob: Buffer;
  mediaType: string;
  diffId: string;
}

export function gzLayer(tar: Buffer): LayerBlob {
  return {
    blob: gzipSync(tar, { level: 1 }),
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    diffId: sha(tar),
  };
}

export interface ImageSpec {
  layers: LayerBlob[];
  config?: Record<string, unknown>;
  tag?: string;
}

/** Writes an OCI layout holding one image; returns the manifest digest. */
export function writeLayout(dir: string, spec: ImageSpec): string {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = (data: Buffer) => {
    const digest = sha(data);
    writeFileSync(join(dir, 'blobs', 'sha256', digest.slice(7)), data);
    return { digest, size: data.length };
  };
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: spec.config ?? {},
      rootfs: { type: 'layers', diff_ids: spec.layers.map((l) => l.diffId) },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...put(config) },
      layers: spec.layers.map((l) => ({ mediaType: l.mediaType, ...put(l.blob) })),
    }),
  );
  const m = put(manifest);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...m,
          annotations: { 'org.opencontainers.image.ref.name': spec.tag ?? 'test' },
        },
      ],
    }),
  );
  return m.digest;
}
