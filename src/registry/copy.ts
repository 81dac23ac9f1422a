/**
 * The transfer engine: copies an image (manifest or index, with everything under it) between OCI layouts
 * and registries, like `skopeo copy`. Order on the destination: every blob first (in parallel, bounded),
 * then manifests bottom-up, the index after its children, tags last, so no tag ever names an incomplete
 * image. Into a layout, blobs are staged and verified before anything enters it, and index.json is last.
 * Blobs are mounted from repositories that hold them (locations.ts); `format: 'oci'` rewrites Docker
 * manifests to OCI ones (convert.ts).
 */
import { createReadStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { VnfpipeError } from '../errors.js';
import { mapLimit } from '../limit.js';
import { Annotation } from '../oci/annotations.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../oci/digest.js';
import { OciLayout } from '../oci/layout.js';
import {
  type ImageIndex,
  type ImageManifest,
  parseManifestOrIndex,
  selectPlatform,
  verifiedBytes,
} from '../oci/manifest.js';
import { formatPlatform, type Platform, parsePlatform } from '../oci/platform.js';
import type { ImageReference, OciLayoutReference, RegistryReference } from '../oci/reference.js';
import { MAX_DOCUMENT_BYTES } from '../oci/validate.js';
import { type ClientOptions, RegistryClient } from './client.js';
import { convertToOci, IMAGE_FORMATS, type ImageFormat } from './convert.js';
import { BlobStage, downloadBlob } from './download.js';
import { typedError } from './errors.js';
import { BlobLocations, defaultLocationsFile } from './locations.js';
import { recordReferrer, referrerDescriptor } from './referrers.js';
import { type BlobSource, type UploadResult, uploadBlob } from './upload.js';

export interface BlobProgress {
  digest: Digest;
  current: number;
  total: number;
  state: 'transferring' | 'exists' | 'mounted' | 'done';
}

export interface CopyOptions {
  /** Relative layout paths are resolved against this (default: the process's cwd). */
  cwd?: string;
  /** Blobs moving at once (default 4). */
  concurrency?: number;
  /** Copy only this platform's manifest out of an index (default: the whole index). */
  platform?: string | Platform;
  /** Extra tags to set on a registry destination, besides the reference's own. */
  tags?: readonly string[];
  /** Client options per registry (credentials, TLS, retries); `default` applies to every registry. */
  registries?: Record<string, ClientOptions>;
  /** Clients to reuse (the caller closes them); others are made and closed here. */
  clients?: Map<string, RegistryClient>;
  /** Upload tuning: size above which blobs go in chunks, and the chunk size. */
  chunkThreshold?: number;
  chunkSize?: number;
  signal?: AbortSignal;
  onProgress?: (progress: BlobProgress) => void;
  onLog?: (line: string) => void;
  /**
   * The record of which repositories hold which blobs, for cross-repository mounts (default:
   * `defaultLocationsFile()`, in the user's cache; false: none).
   */
  blobLocations?: string | false;
  /** `keep` (default) copies manifests as they are; `oci` converts Docker media types to OCI (convert.ts). */
  format?: ImageFormat;
}

/** Mount sources tried per blob before uploading it. */
const MAX_MOUNT_SOURCES = 3;

export interface CopyResult {
  /** Digest of what was copied (the manifest, or the index). */
  digest: Digest;
  mediaType: string;
  size: number;
  /** The destination, pinned: `host/repo:tag@digest` or `oci:<dir>:<ref>`. */
  reference: string;
  tags: string[];
  blobs: { total: number; transferred: number; skipped: number; mounted: number; bytes: number };
}

/** A document of the image graph, verified against its descriptor. */
interface Document {
  descriptor: Descriptor;
  bytes: Buffer;
  parsed: { kind: 'manifest'; manifest: ImageManifest } | { kind: 'index'; index: ImageIndex };
}

interface Graph {
  top: Document;
  /** Children before parents; the top is last. */
  documents: Document[];
  blobs: Descriptor[];
}

interface Source {
  describe(): string;
  top(): Promise<{ descriptor: Descriptor; bytes: Buffer }>;
  document(descriptor: Descriptor): Promise<Buffer>;
  /** The source tag, used to name the image in a destination layout without a ref. */
  tag?: string;
}

class Clients {
  private readonly made = new Map<string, RegistryClient>();
  constructor(private readonly options: CopyOptions) {}
  get(registry: string): RegistryClient {
    const given = this.options.clients?.get(registry) ?? this.made.get(registry);
    if (given) return given;
    const settings = { ...this.options.registries?.default, ...this.options.registries?.[registry] };
    const client = new RegistryClient(registry, { signal: this.options.signal, ...settings });
    this.made.set(registry, client);
    return client;
  }
  close(): void {
    for (const client of this.made.values()) client.close();
  }
}

function layoutSource(layout: OciLayout, ref: string | undefined): Source {
  return {
    describe: () => `oci:${layout.dir}${ref ? `:${ref}` : ''}`,
    tag: ref,
    async top() {
      const descriptor = await layout.resolve(ref);
      return { descriptor, bytes: await this.document(descriptor) };
    },
    async document(descriptor) {
      const bytes = await layout.readBlob(descriptor.digest, MAX_DOCUMENT_BYTES);
      verifiedBytes(bytes, descriptor, layout.blobPath(descriptor.digest));
      return bytes;
    },
  };
}

function registrySource(client: RegistryClient, ref: RegistryReference): Source {
  const reference = ref.digest ?? ref.tag ?? 'latest';
  return {
    describe: () => `${client.registry}/${ref.repository}${ref.digest ? `@${ref.digest}` : `:${reference}`}`,
    tag: ref.tag,
    async top() {
      const fetched = await client.getManifest(ref.repository, reference);
      return { descriptor: fetched.descriptor, bytes: fetched.bytes };
    },
    async document(descriptor) {
      const fetched = await client.getManifest(ref.repository, descriptor.digest);
      verifiedBytes(fetched.bytes, descriptor, `${client.registry}/${ref.repository}@${descriptor.digest}`);
      return fetched.bytes;
    },
  };
}

/** Reads the image graph: the top document, nested indexes and manifests, and their blobs. */
async function readGraph(source: Source, platform: Platform | undefined): Promise<Graph> {
  const first = await source.top();
  const where = source.describe();
  let top: Document = {
    descriptor: first.descriptor,
    bytes: first.bytes,
    parsed: parseManifestOrIndex(first.bytes, where, first.descriptor.mediaType),
  };
  if (platform && top.parsed.kind === 'index') {
    const chosen = selectPlatform(top.parsed.index, platform);
    if (!chosen) {
      const offered = top.parsed.index.manifests
        .map((m) => (m.platform ? formatPlatform(m.platform) : '?'))
        .join(', ');
      throw new VnfpipeError('OCI_NOT_FOUND', `no image for platform ${formatPlatform(platform)}`, {
        where,
        hint: `the index offers: ${offered || '(nothing)'}`,
      });
    }
    const bytes = await source.document(chosen);
    top = { descriptor: chosen, bytes, parsed: parseManifestOrIndex(bytes, where, chosen.mediaType) };
  }
  const documents: Document[] = [];
  const blobs = new Map<Digest, Descriptor>();
  const seen = new Set<Digest>();
  const visit = async (doc: Document, depth: number): Promise<void> => {
    if (seen.has(doc.descriptor.digest)) return;
    seen.add(doc.descriptor.digest);
    if (depth > 8) throw new VnfpipeError('OCI_INVALID', 'indexes nested too deep', { where });
    if (doc.parsed.kind === 'index') {
      for (const child of doc.parsed.index.manifests) {
        const bytes = await source.document(child);
        await visit(
          { descriptor: child, bytes, parsed: parseManifestOrIndex(bytes, where, child.mediaType) },
          depth + 1,
        );
      }
    } else {
      const { manifest } = doc.parsed;
      for (const blob of [manifest.config, ...manifest.layers])
        if (!blobs.has(blob.digest)) blobs.set(blob.digest, blob);
    }
    documents.push(doc);
  };
  await visit(top, 0);
  // Largest first, so the longest transfer starts at once and small ones fill the other slots.
  return { top, documents, blobs: [...blobs.values()].sort((a, b) => b.size - a.size) };
}

function subjectOf(doc: Document): Descriptor | undefined {
  return doc.parsed.kind === 'index' ? doc.parsed.index.subject : doc.parsed.manifest.subject;
}

function referrerOf(doc: Document): Descriptor {
  const parsed = doc.parsed.kind === 'index' ? doc.parsed.index : doc.parsed.manifest;
  return referrerDescriptor(doc.descriptor, {
    artifactType: parsed.artifactType,
    config: doc.parsed.kind === 'manifest' ? doc.parsed.manifest.config : undefined,
    annotations: parsed.annotations,
  });
}

/** Streams a registry blob range as a BlobSource (for copies between registries). */
function remoteBlobSource(client: RegistryClient, repository: string, blob: Descriptor): BlobSource {
  return {
    size: blob.size,
    open(start: number, end: number): Readable {
      const out = new PassThrough();
      client
        .fetchBlob(repository, blob.digest, start)
        .then((res) => {
          let left = end - start;
          res.body.on('data', (chunk: Buffer) => {
            if (left <= 0) return;
            const piece = chunk.length > left ? chunk.subarray(0, left) : chunk;
            left -= piece.length;
            if (!out.write(piece)) res.body.pause();
            if (left <= 0) {
              out.end();
              res.body.destroy();
            }
          });
          out.on('drain', () => res.body.resume());
          // A consumer that gives up (a failed upload) must not leave the source connection paused open.
          out.once('close', () => res.body.destroy());
          res.body.once('end', () => out.end());
          res.body.once('error', (error) => out.destroy(error));
        })
        .catch((error: Error) => out.destroy(error));
      return out;
    },
  };
}

function layoutBlobSource(layout: OciLayout, blob: Descriptor): BlobSource {
  return {
    size: blob.size,
    open: (start, end) =>
      createReadStream(layout.blobPath(blob.digest), { start, end: end - 1, highWaterMark: 1024 * 1024 }),
  };
}

async function checkLayoutBlob(layout: OciLayout, blob: Descriptor): Promise<void> {
  const path = layout.blobPath(blob.digest);
  const size = await stat(path).then(
    (s) => s.size,
    () => undefined,
  );
  if (size === undefined)
    throw new VnfpipeError('OCI_NOT_FOUND', `blob ${blob.digest} missing from the layout`, { where: path });
  if (size !== blob.size) {
    throw new VnfpipeError(
      'OCI_INVALID',
      `blob ${blob.digest} has ${size} bytes, its descriptor says ${blob.size}`,
      { where: path },
    );
  }
}

function toPlatform(value: string | Platform | undefined): Platform | undefined {
  return value === undefined ? undefined : typeof value === 'string' ? parsePlatform(value) : value;
}

function layoutToLayout(): VnfpipeError {
  return new VnfpipeError('USAGE', 'copying between two OCI layouts is not supported', {
    hint: 'one side must be a registry (host/repo:tag)',
  });
}

function formatReference(ref: ImageReference): string {
  if (ref.transport === 'oci') return `oci:${ref.dir}${ref.ref ? `:${ref.ref}` : ''}`;
  return `${ref.registry}/${ref.repository}${ref.digest ? `@${ref.digest}` : `:${ref.tag ?? 'latest'}`}`;
}

/** Copies an image between `oci:<dir>[:ref]` layouts and registries. */
export async function copyImage(
  source: ImageReference,
  dest: ImageReference,
  options: CopyOptions = {},
): Promise<CopyResult> {
  if (source.transport === 'oci' && dest.transport === 'oci') throw layoutToLayout();
  if (options.format !== undefined && !IMAGE_FORMATS.includes(options.format)) {
    throw new VnfpipeError('USAGE', `unknown image format ${JSON.stringify(options.format)}`, {
      hint: `use one of: ${IMAGE_FORMATS.join(', ')}`,
    });
  }
  const clients = new Clients(options);
  const locations =
    options.blobLocations === false
      ? undefined
      : await BlobLocations.load(options.blobLocations ?? defaultLocationsFile());
  try {
    const cwd = options.cwd ?? process.cwd();
    let reader: Source;
    let openBlob: (blob: Descriptor) => BlobSource;
    let layout: OciLayout | undefined;
    if (source.transport === 'oci') {
      const opened = await OciLayout.open(resolvePath(cwd, source.dir));
      layout = opened;
      reader = layoutSource(opened, source.ref);
      openBlob = (blob) => layoutBlobSource(opened, blob);
    } else {
      const client = clients.get(source.registry);
      reader = registrySource(client, source);
      openBlob = (blob) => remoteBlobSource(client, source.repository, blob);
    }
    // Reach the destination registry while the source graph is read.
    const early = dest.transport === 'registry' ? clients.get(dest.registry).ping() : undefined;
    early?.catch(() => undefined);
    let graph = await readGraph(reader, toPlatform(options.platform));
    if (options.format === 'oci') {
      const converted = convertToOci(graph.documents, reader.describe());
      graph = {
        ...graph,
        top: converted.get(graph.top.descriptor.digest)!,
        documents: [...converted.values()],
      };
    }
    await early;
    if (layout) for (const blob of graph.blobs) await checkLayoutBlob(layout, blob);
    // Every blob of a registry source is in its repository: worth remembering for later mounts.
    const seen = () => {
      if (source.transport === 'registry')
        for (const blob of graph.blobs) locations?.add(source.registry, blob.digest, source.repository);
    };
    if (dest.transport === 'registry') {
      const mountFrom =
        source.transport === 'registry' && source.registry === dest.registry ? [source.repository] : [];
      const result = await toRegistry(
        graph,
        clients.get(dest.registry),
        dest,
        openBlob,
        mountFrom,
        locations,
        options,
      );
      seen();
      return result;
    }
    if (source.transport !== 'registry') throw layoutToLayout();
    const result = await toLayout(graph, clients.get(source.registry), source, dest, reader.tag, options);
    seen();
    return result;
  } catch (error) {
    throw typedError(error, formatReference(source));
  } finally {
    clients.close();
    // A cache: failing to write it costs later mounts, never this copy.
    await locations?.save().catch(() => undefined);
  }
}

async function toRegistry(
  graph: Graph,
  client: RegistryClient,
  dest: RegistryReference,
  openBlob: (blob: Descriptor) => BlobSource,
  mountFrom: string[],
  locations: BlobLocations | undefined,
  options: CopyOptions,
): Promise<CopyResult> {
  const repository = dest.repository;
  const counts = { total: graph.blobs.length, transferred: 0, skipped: 0, mounted: 0, bytes: 0 };
  await mapLimit(graph.blobs, options.concurrency ?? 4, async (blob) => {
    const report = (current: number, state: BlobProgress['state']) =>
      options.onProgress?.({ digest: blob.digest, current, total: blob.size, state });
    const known = locations?.repositories(client.registry, blob.digest) ?? [];
    const sources = [...new Set([...mountFrom, ...known])].filter((r) => r !== repository);
    const result: UploadResult = await uploadBlob(client, repository, blob.digest, openBlob(blob), {
      mountFrom: sources.slice(0, MAX_MOUNT_SOURCES),
      chunkSize: options.chunkSize,
      chunkThreshold: options.chunkThreshold,
      onProgress: (current) => report(current, 'transferring'),
    });
    locations?.add(client.registry, blob.digest, repository);
    if (result === 'exists') counts.skipped++;
    else if (result === 'mounted') counts.mounted++;
    else {
      counts.transferred++;
      counts.bytes += blob.size;
    }
    report(blob.size, result === 'uploaded' ? 'done' : result);
  });
  // Children by digest, bottom-up; the top last, by tag (or by digest when untagged).
  for (const doc of graph.documents) {
    if (doc === graph.top) continue;
    await client.putManifest(repository, doc.descriptor.digest, doc.bytes, doc.descriptor.mediaType);
  }
  const tags = [...new Set([...(dest.tag ? [dest.tag] : []), ...(options.tags ?? [])])];
  const top = graph.top;
  let indexed = false;
  for (const reference of tags.length ? tags : [top.descriptor.digest]) {
    const put = await client.putManifest(repository, reference, top.bytes, top.descriptor.mediaType);
    indexed ||= put.subject !== undefined;
  }
  const subject = subjectOf(top);
  if (subject) await recordReferrer(client, repository, subject.digest, referrerOf(top), indexed);
  const pinned = `${client.registry}/${repository}${tags[0] ? `:${tags[0]}` : ''}@${top.descriptor.digest}`;
  options.onLog?.(
    `pushed ${pinned} (${counts.transferred} uploaded, ${counts.skipped} present, ${counts.mounted} mounted)`,
  );
  return {
    digest: top.descriptor.digest,
    mediaType: top.descriptor.mediaType,
    size: top.descriptor.size,
    reference: pinned,
    tags,
    blobs: counts,
  };
}

async function toLayout(
  graph: Graph,
  client: RegistryClient,
  source: RegistryReference,
  dest: OciLayoutReference,
  sourceTag: string | undefined,
  options: CopyOptions,
): Promise<CopyResult> {
  const dir = resolvePath(options.cwd ?? process.cwd(), dest.dir);
  const existing = await OciLayout.open(dir).catch(() => undefined);
  const stage = await BlobStage.create(dir);
  const counts = { total: graph.blobs.length, transferred: 0, skipped: 0, mounted: 0, bytes: 0 };
  try {
    await mapLimit(graph.blobs, options.concurrency ?? 4, async (blob) => {
      if (existing && (await existing.hasBlob(blob.digest))) {
        counts.skipped++;
        options.onProgress?.({ digest: blob.digest, current: blob.size, total: blob.size, state: 'exists' });
        return;
      }
      await downloadBlob(client, source.repository, blob, stage.path(blob.digest), (current) =>
        options.onProgress?.({ digest: blob.digest, current, total: blob.size, state: 'transferring' }),
      );
      stage.verified(blob.digest);
      counts.transferred++;
      counts.bytes += blob.size;
      options.onProgress?.({ digest: blob.digest, current: blob.size, total: blob.size, state: 'done' });
    });
    for (const doc of graph.documents) {
      await writeFile(stage.path(doc.descriptor.digest), doc.bytes);
      stage.verified(doc.descriptor.digest);
    }
    // Everything verified: only now does the layout change, index.json last.
    const layout = existing ?? (await OciLayout.openOrCreate(dir));
    await stage.commit(layout);
    const name = dest.ref ?? sourceTag;
    const top = graph.top.descriptor;
    const entry: Descriptor = { mediaType: top.mediaType, digest: top.digest, size: top.size };
    if (top.platform) entry.platform = top.platform;
    if (name) await layout.tag(name, entry);
    else {
      await layout.updateIndex((index) => ({
        ...index,
        manifests: [
          ...index.manifests.filter((d) => d.digest !== top.digest || d.annotations?.[Annotation.refName]),
          entry,
        ],
      }));
    }
    return {
      digest: top.digest,
      mediaType: top.mediaType,
      size: top.size,
      reference: `oci:${dir}${name ? `:${name}` : ''}`,
      tags: name ? [name] : [],
      blobs: counts,
    };
  } finally {
    await stage.discard();
  }
}
