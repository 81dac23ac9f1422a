/**
 * `docker save` archives as a read-only image source, named as skopeo does: `docker-archive:<file>[:<ref>]`
 * where the ref is one of the archive's tags (`busybox:1`) or `@<index>`. The archive is a tar holding
 * `manifest.json` (one entry per image: config file, tags, layer files), the configs, and the layers —
 * uncompressed tars in Docker's format, whose sha256 is the layer's diff-id, so digests are computed while
 * the layers are copied into an OCI layout and checked against the config.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { join, posix, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { VnfpipeError } from '../errors.js';
import { type ImageConfig, parseImageConfig } from './config.js';
import type { Descriptor } from './descriptor.js';
import type { Digest } from './digest.js';
import type { OciLayout } from './layout.js';
import { canonicalJson, type ImageManifest } from './manifest.js';
import { MediaType } from './media-types.js';
import type { Platform } from './platform.js';
import { familiarName, parseRegistryReference } from './reference.js';
import { asArray, asObject, asString, MAX_DOCUMENT_BYTES, parseJsonDocument } from './validate.js';

export const DOCKER_ARCHIVE_PREFIX = 'docker-archive:';

export interface DockerArchiveReference {
  transport: 'docker-archive';
  /** The archive file as written (relative paths stay relative). */
  path: string;
  /** A tag of the archive (`busybox:1`) or `@<index>`; undefined means "the only image". */
  ref?: string;
}

export function isDockerArchiveReference(text: string): boolean {
  return text.startsWith(DOCKER_ARCHIVE_PREFIX);
}

/** Parses `docker-archive:<file>[:<ref>]` (the file may not contain ':'; the ref is the rest, like skopeo). */
export function parseDockerArchiveReference(text: string): DockerArchiveReference {
  const rest = text.slice(DOCKER_ARCHIVE_PREFIX.length);
  const colon = rest.indexOf(':');
  const path = colon === -1 ? rest : rest.slice(0, colon);
  const ref = colon === -1 ? undefined : rest.slice(colon + 1);
  if (!isDockerArchiveReference(text) || !path || ref === '') {
    throw new VnfpipeError('USAGE', `invalid docker-archive reference ${JSON.stringify(text)}`, {
      hint: 'write docker-archive:<file from docker save>[:<repo:tag> | :@<index>]',
    });
  }
  return ref === undefined
    ? { transport: 'docker-archive', path }
    : { transport: 'docker-archive', path, ref };
}

interface TarEntry {
  offset: number;
  size: number;
  type: string;
  linkname: string;
}

function invalidArchive(message: string, where: string): VnfpipeError {
  return new VnfpipeError('OCI_INVALID', message, {
    where,
    hint: 'give the file `docker save` writes (a tar with manifest.json)',
  });
}

function field(block: Buffer, offset: number, length: number): string {
  const text = block.subarray(offset, offset + length).toString('utf8');
  const nul = text.indexOf('\0');
  return nul === -1 ? text : text.slice(0, nul);
}

function octal(block: Buffer, offset: number, length: number): number {
  // Base-256 (GNU) for sizes of 8 GiB and more: the high bit of the first byte is set.
  if ((block[offset]! & 0x80) !== 0) {
    let value = 0;
    for (let i = offset + 1; i < offset + length; i++) value = value * 256 + block[i]!;
    return value;
  }
  return Number.parseInt(field(block, offset, length).trim() || '0', 8);
}

/** PAX records (`<len> key=value\n`) → their path and linkpath. */
function paxRecords(data: Buffer): { path?: string; linkpath?: string } {
  const out: { path?: string; linkpath?: string } = {};
  for (const record of data.toString('utf8').split('\n')) {
    const kv = record.slice(record.indexOf(' ') + 1);
    const eq = kv.indexOf('=');
    if (eq === -1) continue;
    const key = kv.slice(0, eq);
    if (key === 'path' || key === 'linkpath') out[key] = kv.slice(eq + 1);
  }
  return out;
}

/** Where each member of a tar is, by normalised name; only headers are read. */
async function indexTar(handle: FileHandle, file: string): Promise<Map<string, TarEntry>> {
  const entries = new Map<string, TarEntry>();
  const { size: total } = await handle.stat();
  const block = Buffer.alloc(512);
  let at = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  while (at + 512 <= total) {
    const { bytesRead } = await handle.read(block, 0, 512, at);
    if (bytesRead < 512) break;
    if (block.every((b) => b === 0)) break;
    if (field(block, 257, 5) !== 'ustar' && entries.size === 0)
      throw invalidArchive('not a tar archive', file);
    const size = octal(block, 124, 12);
    const type = field(block, 156, 1) || '0';
    const body = at + 512;
    if (type === 'x' || type === 'L' || type === 'K') {
      const data = Buffer.alloc(Math.min(size, 1024 * 1024));
      await handle.read(data, 0, data.length, body);
      if (type === 'x') {
        const pax = paxRecords(data);
        longName = pax.path ?? longName;
        longLink = pax.linkpath ?? longLink;
      } else if (type === 'L') longName = field(data, 0, data.length);
      else longLink = field(data, 0, data.length);
    } else if (type !== 'g') {
      const prefix = field(block, 345, 155);
      const raw = longName ?? (prefix ? `${prefix}/${field(block, 0, 100)}` : field(block, 0, 100));
      const name = posix
        .normalize(raw)
        .replace(/^(\.\/)+/, '')
        .replace(/\/$/, '');
      entries.set(name, { offset: body, size, type, linkname: longLink ?? field(block, 157, 100) });
      longName = undefined;
      longLink = undefined;
    }
    at = body + Math.ceil(size / 512) * 512;
  }
  return entries;
}

export interface DockerArchiveImage {
  /** Index in manifest.json (`@<index>`). */
  index: number;
  config: string;
  repoTags: string[];
  layers: string[];
}

/** An opened `docker save` archive: its images and members, read in place. */
export class DockerArchive {
  private constructor(
    readonly file: string,
    readonly images: DockerArchiveImage[],
    private readonly entries: Map<string, TarEntry>,
  ) {}

  static async open(file: string): Promise<DockerArchive> {
    const path = resolve(file);
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      throw new VnfpipeError('OCI_NOT_FOUND', 'docker archive not found', {
        where: path,
        hint: 'make one with docker save -o <file> <image>',
        cause: error,
      });
    }
    try {
      const entries = await indexTar(handle, path);
      const archive = new DockerArchive(path, [], entries);
      const manifest = parseJsonDocument(
        `{"images":${(await archive.read('manifest.json', MAX_DOCUMENT_BYTES)).toString('utf8')}}`,
        `${path}:manifest.json`,
      );
      const list = asArray(manifest.images, '$', `${path}:manifest.json`);
      list.forEach((item, index) => {
        const where = `${path}:manifest.json`;
        const object = asObject(item, `$[${index}]`, where);
        archive.images.push({
          index,
          config: asString(object.Config, `$[${index}].Config`, where),
          repoTags: object.RepoTags
            ? asArray(object.RepoTags, `$[${index}].RepoTags`, where).map((t, i) =>
                asString(t, `$[${index}].RepoTags[${i}]`, where),
              )
            : [],
          layers: asArray(object.Layers, `$[${index}].Layers`, where).map((l, i) =>
            asString(l, `$[${index}].Layers[${i}]`, where),
          ),
        });
      });
      return archive;
    } finally {
      await handle.close();
    }
  }

  /** The image a ref names: a tag of the archive, `@<index>`, or the only image when none is given. */
  select(ref: string | undefined): DockerArchiveImage {
    const where = `${DOCKER_ARCHIVE_PREFIX}${this.file}${ref ? `:${ref}` : ''}`;
    const tags = this.images.flatMap((image) => image.repoTags);
    const hint = `images in the archive: ${tags.join(', ') || `@0…@${this.images.length - 1}`}`;
    if (ref === undefined) {
      if (this.images.length === 1) return this.images[0]!;
      throw new VnfpipeError('USAGE', `the archive holds ${this.images.length} images; name one`, {
        where,
        hint,
      });
    }
    const found = ref.startsWith('@')
      ? this.images[Number(ref.slice(1))]
      : this.images.find((image) => image.repoTags.some((tag) => sameTag(tag, ref)));
    if (!found) throw new VnfpipeError('OCI_NOT_FOUND', `no image ${ref} in the archive`, { where, hint });
    return found;
  }

  /** A member, following the symlinks `docker save` writes for layers it already stored. */
  private entry(name: string): TarEntry {
    let current = posix.normalize(name).replace(/^(\.\/)+/, '');
    for (let hops = 0; hops < 8; hops++) {
      const entry = this.entries.get(current);
      if (!entry) break;
      if (entry.type !== '2' && entry.type !== '1') return entry;
      current =
        entry.type === '1'
          ? entry.linkname
          : posix.normalize(posix.join(posix.dirname(current), entry.linkname));
    }
    throw invalidArchive(`member ${name} is missing`, this.file);
  }

  async read(name: string, maxBytes: number): Promise<Buffer> {
    const entry = this.entry(name);
    if (entry.size > maxBytes)
      throw invalidArchive(`member ${name} is ${entry.size} bytes, more than ${maxBytes}`, this.file);
    const handle = await open(this.file, 'r');
    try {
      const data = Buffer.alloc(entry.size);
      await handle.read(data, 0, entry.size, entry.offset);
      return data;
    } finally {
      await handle.close();
    }
  }

  /** A member's size (after symlinks). */
  size(name: string): number {
    return this.entry(name).size;
  }

  /** A member's bytes as a stream, read in place. */
  stream(name: string, signal?: AbortSignal): Readable {
    const entry = this.entry(name);
    if (entry.size === 0) return Readable.from([]);
    return createReadStream(this.file, { start: entry.offset, end: entry.offset + entry.size - 1, signal });
  }
}

function normalTag(tag: string): string {
  try {
    return familiarName(parseRegistryReference(tag));
  } catch {
    return tag;
  }
}

function sameTag(a: string, b: string): boolean {
  return a === b || normalTag(a) === normalTag(b);
}

export interface ImportedImage {
  /** The OCI manifest written for the image (its blobs are in the layout). */
  descriptor: Descriptor;
  manifest: ImageManifest;
  config: ImageConfig;
  /** `docker-archive:<absolute file>[:ref]`, for messages. */
  where: string;
}

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

/**
 * Copies an archive's image into a layout: its config, its layers (digests computed while copying and
 * checked against the config's diff-ids) and an OCI manifest over them. Tags nothing.
 */
export async function importDockerArchive(
  text: string,
  layout: OciLayout,
  options: { cwd?: string; signal?: AbortSignal } = {},
): Promise<ImportedImage> {
  const parsed = parseDockerArchiveReference(text);
  const archive = await DockerArchive.open(resolve(options.cwd ?? '.', parsed.path));
  const where = `${DOCKER_ARCHIVE_PREFIX}${archive.file}${parsed.ref ? `:${parsed.ref}` : ''}`;
  const image = archive.select(parsed.ref);
  const configBytes = await archive.read(image.config, MAX_DOCUMENT_BYTES);
  const config = parseImageConfig(configBytes, `${where} (${image.config})`);
  if (config.rootfs.diff_ids.length !== image.layers.length) {
    throw invalidArchive(
      `config lists ${config.rootfs.diff_ids.length} diff_ids but the archive has ${image.layers.length} layers`,
      where,
    );
  }
  const configDescriptor = await layout.writeBlob(configBytes, MediaType.ociConfig);
  const layers: Descriptor[] = [];
  for (const [i, name] of image.layers.entries()) {
    options.signal?.throwIfAborted();
    const diffId = config.rootfs.diff_ids[i]!;
    const size = archive.size(name);
    // Uncompressed layers are named by their diff-id: one already in the layout is not copied again.
    const present = await stat(layout.blobPath(diffId)).then(
      (s) => s.size,
      () => -1,
    );
    if (present === size) {
      layers.push({ mediaType: MediaType.ociLayer, digest: diffId, size });
      continue;
    }
    const writer = await layout.createBlobWriter();
    let head: Buffer | undefined;
    try {
      for await (const chunk of archive.stream(name, options.signal)) {
        const bytes = chunk as Buffer;
        head ??= bytes.subarray(0, 2);
        await writer.write(bytes);
      }
      const gzip = head?.equals(GZIP_MAGIC) === true;
      if (gzip) {
        const written = await writer.commit();
        layers.push({ mediaType: MediaType.ociLayerGzip, digest: written.digest, size: written.size });
        continue;
      }
      const written = await writer.commit(diffId).catch((error: unknown) => {
        throw new VnfpipeError(
          'OCI_DIGEST_MISMATCH',
          `layer ${name} does not have the config's diff-id ${diffId}`,
          {
            where,
            hint: 'the archive is damaged: save the image again',
            cause: error,
          },
        );
      });
      layers.push({ mediaType: MediaType.ociLayer, digest: written.digest, size: written.size });
    } catch (error) {
      await writer.abort();
      throw error;
    }
  }
  return writeImportedManifest(layout, config, configDescriptor, layers, where);
}

/**
 * The last step of every import of an engine's image (a `docker save` archive, a streamed `/images/get`, blobs
 * the layout already holds): the OCI manifest over the config and layers, written into the layout.
 */
export async function writeImportedManifest(
  layout: OciLayout,
  config: ImageConfig,
  configBlob: { digest: Digest; size: number },
  layers: Descriptor[],
  where: string,
): Promise<ImportedImage> {
  const platform: Platform = { os: config.os, architecture: config.architecture };
  if (config.variant) platform.variant = config.variant;
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configBlob.digest, size: configBlob.size },
    layers,
  };
  const written = await layout.writeBlob(canonicalJson(manifest), MediaType.ociManifest);
  return {
    descriptor: { mediaType: MediaType.ociManifest, digest: written.digest, size: written.size, platform },
    manifest,
    config,
    where,
  };
}

/**
 * For commands that read OCI layouts (scan, push): a `docker-archive:` reference becomes an `oci:` one over
 * a layout the archive's image is copied into once (in `.vnfpipe/cache/docker-archives` beside the other
 * caches, keyed by the archive file's identity and the ref); any other reference is returned as it is.
 */
export async function asLayoutReference(
  text: string,
  options: { cwd?: string; cacheDir?: string; signal?: AbortSignal } = {},
): Promise<string> {
  if (!isDockerArchiveReference(text)) return text;
  const parsed = parseDockerArchiveReference(text);
  const file = resolve(options.cwd ?? '.', parsed.path);
  const info = await stat(file).catch((error: unknown) => {
    throw new VnfpipeError('OCI_NOT_FOUND', 'docker archive not found', { where: file, cause: error });
  });
  const identity = `${file}\0${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}`;
  const key = createHash('sha256')
    .update(`${identity}\0${parsed.ref ?? ''}`)
    .digest('hex')
    .slice(0, 32);
  const dir = join(
    options.cacheDir ?? resolve(options.cwd ?? '.', '.vnfpipe', 'cache', 'docker-archives'),
    key,
  );
  const { OciLayout } = await import('./layout.js');
  const layout = await OciLayout.openOrCreate(dir);
  const present = (await layout.listRefs()).some((r) => r.name === 'image');
  if (!present) {
    const imported = await importDockerArchive(text, layout, options);
    await layout.tag('image', imported.descriptor);
  }
  return `oci:${dir}:image`;
}
