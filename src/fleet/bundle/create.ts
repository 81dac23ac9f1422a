/**
 * `createBundle`: packs registry images — every platform of an index, with their cosign signature,
 * attestation and SBOM tags and their OCI 1.1 referrers — plus rendered files into one OCI layout tar.
 * Documents are small and held; blobs stream from the registry into the tar, hashed on the way, so a
 * registry that serves other bytes than the digest names fails the bundle (which then is not written).
 */

import { VnfpipeError } from '../../errors.js';
import { Annotation } from '../../oci/annotations.js';
import type { Descriptor } from '../../oci/descriptor.js';
import { type Digest, DigestStream, digestAlgorithm, digestHex, digestOf } from '../../oci/digest.js';
import { canonicalJson, parseManifestOrIndex, verifiedBytes } from '../../oci/manifest.js';
import { MediaType } from '../../oci/media-types.js';
import { formatPlatform } from '../../oci/platform.js';
import { parseRegistryReference, type RegistryReference } from '../../oci/reference.js';
import { type ClientOptions, RegistryClient } from '../../registry/client.js';
import { referrersTag } from '../../registry/referrers.js';
import { ArchiveWriter } from './archive.js';
import {
  BUNDLE_INDEX_FILE,
  BUNDLE_MEDIA_TYPE,
  type BundleBlob,
  type BundleDocument,
  type BundleFile,
  type BundleImage,
  type BundleIndex,
  type BundleTag,
  blobMember,
} from './format.js';

/** A file to carry in the bundle (rendered objects, a workload spec). */
export interface BundleFileInput {
  path: string;
  kind: BundleFile['kind'];
  step: string;
  content: Buffer;
}

export interface BundleProgress {
  image: string;
  digest: Digest;
  current: number;
  total: number;
  state: 'transferring' | 'done' | 'shared';
}

export interface CreateBundleOptions {
  /** Registry references (`host/repo:tag[@sha256:…]`); a digest pins what is packed. */
  images: readonly string[];
  files?: readonly BundleFileInput[];
  pipeline?: string;
  /** Client options per registry (credentials, TLS); `default` applies to every registry. */
  registries?: Record<string, ClientOptions>;
  signal?: AbortSignal;
  onProgress?: (progress: BundleProgress) => void;
  onLog?: (line: string) => void;
}

/** cosign's tag-schema artifacts next to an image: signatures, attestations, SBOMs. */
const COSIGN_SUFFIXES = ['sig', 'att', 'sbom'] as const;

interface Collected {
  image: BundleImage;
  /** Document bytes by digest. */
  bytes: Map<Digest, Buffer>;
}

class Collector {
  readonly documents: BundleDocument[] = [];
  readonly blobs = new Map<Digest, BundleBlob>();
  readonly bytes = new Map<Digest, Buffer>();
  readonly tags: BundleTag[] = [];

  constructor(
    private readonly client: RegistryClient,
    private readonly repository: string,
  ) {}

  /** Fetches a document by tag or digest, or undefined when the registry has none by that name. */
  async fetch(reference: string): Promise<Descriptor | undefined> {
    try {
      const fetched = await this.client.getManifest(this.repository, reference);
      this.bytes.set(fetched.digest, fetched.bytes);
      return fetched.descriptor;
    } catch (error) {
      if ((error as { code?: string }).code === 'OCI_NOT_FOUND') return undefined;
      throw error;
    }
  }

  /** Adds a document and everything under it (children first); returns the digests of its manifests. */
  async add(descriptor: Descriptor, depth = 0): Promise<Digest[]> {
    if (this.documents.some((d) => d.digest === descriptor.digest)) return [];
    const where = `${this.client.registry}/${this.repository}@${descriptor.digest}`;
    if (depth > 4) throw new VnfpipeError('OCI_INVALID', 'indexes nested too deep', { where });
    let bytes = this.bytes.get(descriptor.digest);
    if (!bytes) {
      bytes = (await this.client.getManifest(this.repository, descriptor.digest)).bytes;
      this.bytes.set(descriptor.digest, bytes);
    }
    verifiedBytes(bytes, descriptor, where);
    const parsed = parseManifestOrIndex(bytes, where, descriptor.mediaType);
    const manifests: Digest[] = [];
    const entry: BundleDocument = {
      digest: descriptor.digest,
      mediaType: descriptor.mediaType,
      size: descriptor.size,
    };
    if (descriptor.platform) entry.platform = formatPlatform(descriptor.platform);
    if (parsed.kind === 'index') {
      for (const child of parsed.index.manifests) manifests.push(...(await this.add(child, depth + 1)));
      if (parsed.index.subject) entry.subject = parsed.index.subject.digest;
      if (parsed.index.artifactType) entry.artifactType = parsed.index.artifactType;
    } else {
      const { manifest } = parsed;
      for (const blob of [manifest.config, ...manifest.layers])
        if (!this.blobs.has(blob.digest))
          this.blobs.set(blob.digest, { digest: blob.digest, mediaType: blob.mediaType, size: blob.size });
      if (manifest.subject) entry.subject = manifest.subject.digest;
      const artifactType = manifest.artifactType ?? artifactConfig(manifest.config.mediaType);
      if (artifactType) entry.artifactType = artifactType;
      manifests.push(descriptor.digest);
    }
    this.documents.push(entry);
    return manifests;
  }

  /** A tag the site must get, pointing at a document of this collection. */
  tag(tag: string, digest: Digest): void {
    if (!this.tags.some((t) => t.tag === tag)) this.tags.push({ tag, digest });
  }
}

/** A config media type that says "artifact" (not an image config). */
function artifactConfig(mediaType: string): string | undefined {
  return mediaType === MediaType.ociConfig || mediaType === MediaType.dockerConfig ? undefined : mediaType;
}

/**
 * OCI 1.1 referrers of `subject`: from the registry's referrers API, else from the fallback index tag, which
 * the site then gets as it is (same digest). Returns how many there are.
 */
async function collectReferrers(
  collector: Collector,
  client: RegistryClient,
  repository: string,
  subject: Digest,
  where: string,
): Promise<number> {
  const api = await client.referrersApi(repository, subject);
  if (api) {
    for (const referrer of api.manifests) await collector.add(referrer);
    return api.manifests.length;
  }
  const fallback = await collector.fetch(referrersTag(subject));
  if (!fallback) return 0;
  const index = parseManifestOrIndex(collector.bytes.get(fallback.digest)!, where, fallback.mediaType);
  const referrers = index.kind === 'index' ? index.index.manifests : [];
  for (const referrer of referrers) await collector.add(referrer);
  await collector.add(fallback);
  collector.tag(referrersTag(subject), fallback.digest);
  return referrers.length;
}

/** The image, its platforms, and everything attached to each of its manifests. */
async function collectImage(
  client: RegistryClient,
  ref: RegistryReference,
  text: string,
): Promise<Collected> {
  const collector = new Collector(client, ref.repository);
  const top = await collector.fetch(ref.digest ?? ref.tag ?? 'latest');
  if (!top) throw new VnfpipeError('OCI_NOT_FOUND', 'image not found', { where: text });
  if (ref.digest && top.digest !== ref.digest)
    throw new VnfpipeError('OCI_DIGEST_MISMATCH', `registry answered ${top.digest}`, { where: text });
  const manifests = await collector.add(top);
  const subjects = [...new Set([top.digest, ...manifests])];
  const counts = { signatures: 0, attestations: 0, referrers: 0 };
  const imageDocuments = collector.documents.length;
  for (const subject of subjects) {
    for (const suffix of COSIGN_SUFFIXES) {
      const tag = `${digestAlgorithm(subject)}-${digestHex(subject)}.${suffix}`;
      const found = await collector.fetch(tag);
      if (!found) continue;
      await collector.add(found);
      collector.tag(tag, found.digest);
      if (suffix === 'sig') counts.signatures++;
      else if (suffix === 'att') counts.attestations++;
    }
    counts.referrers += await collectReferrers(collector, client, ref.repository, subject, text);
  }
  // The image's own tag last: at a site it appears only when everything else is there.
  if (ref.tag) collector.tag(ref.tag, top.digest);
  const platforms = collector.documents
    .slice(0, imageDocuments)
    .flatMap((d) => (d.platform ? [d.platform] : []));
  const image: BundleImage = {
    reference: `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}@${top.digest}`,
    registry: ref.registry,
    repository: ref.repository,
    digest: top.digest,
    mediaType: top.mediaType,
    size: top.size,
    platforms,
    documents: collector.documents,
    blobs: [...collector.blobs.values()],
    tags: collector.tags,
    artifacts: counts,
  };
  if (ref.tag) image.tag = ref.tag;
  return { image, bytes: collector.bytes };
}

/** Writes the bundle to `out` (atomically: a failed create leaves no file) and returns its index. */
export async function createBundle(out: string, options: CreateBundleOptions): Promise<BundleIndex> {
  if (options.images.length === 0)
    throw new VnfpipeError('USAGE', 'nothing to bundle: no images', {
      hint: 'the pipeline needs push or deploy steps with registry images (run it first), or pass --image',
    });
  const refs = options.images.map((text) => ({ text, ref: parseRegistryReference(text) }));
  const clients = new Map<string, RegistryClient>();
  const clientFor = (registry: string) => {
    let client = clients.get(registry);
    if (!client) {
      const settings = { ...options.registries?.default, ...options.registries?.[registry] };
      client = new RegistryClient(registry, { signal: options.signal, ...settings });
      clients.set(registry, client);
    }
    return client;
  };
  const writer = await ArchiveWriter.create(out);
  try {
    await writer.addBuffer('oci-layout', canonicalJson({ imageLayoutVersion: '1.0.0' }));
    const written = new Set<Digest>();
    const images: BundleImage[] = [];
    const layoutIndex: Descriptor[] = [];
    for (const { text, ref } of refs) {
      const client = clientFor(ref.registry);
      const { image, bytes } = await collectImage(client, ref, text);
      if (images.some((i) => i.reference === image.reference)) continue;
      options.onLog?.(
        `${image.reference}: ${image.documents.length} documents, ${image.blobs.length} blobs` +
          `${image.platforms.length ? `, platforms ${image.platforms.join(', ')}` : ''}` +
          `; cosign: ${image.artifacts.signatures} signature(s), ${image.artifacts.attestations} attestation(s)` +
          `; ${image.artifacts.referrers} OCI referrer(s)`,
      );
      for (const blob of image.blobs) {
        if (written.has(blob.digest)) {
          options.onProgress?.({
            image: image.reference,
            digest: blob.digest,
            current: blob.size,
            total: blob.size,
            state: 'shared',
          });
          continue;
        }
        await streamBlob(writer, client, image, blob, options);
        written.add(blob.digest);
      }
      for (const doc of image.documents) {
        if (written.has(doc.digest)) continue;
        await writer.addBuffer(blobMember(doc.digest), bytes.get(doc.digest)!);
        written.add(doc.digest);
      }
      images.push(image);
      layoutIndex.push(...layoutEntries(image));
    }
    const files: BundleFile[] = [];
    for (const file of options.files ?? []) {
      await writer.addBuffer(file.path, file.content);
      files.push({
        path: file.path,
        kind: file.kind,
        step: file.step,
        digest: digestOf(file.content),
        size: file.content.length,
      });
    }
    const index: BundleIndex = {
      mediaType: BUNDLE_MEDIA_TYPE,
      created: new Date().toISOString(),
      ...(options.pipeline ? { pipeline: options.pipeline } : {}),
      images,
      files,
    };
    await writer.addBuffer(BUNDLE_INDEX_FILE, Buffer.from(`${JSON.stringify(index, null, 2)}\n`));
    await writer.addBuffer(
      'index.json',
      canonicalJson({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: layoutIndex }),
    );
    await writer.finish();
    return index;
  } catch (error) {
    await writer.abort();
    throw error;
  } finally {
    for (const client of clients.values()) client.close();
  }
}

/** index.json entries: each image and each tagged artifact by its full name, other documents untagged. */
function layoutEntries(image: BundleImage): Descriptor[] {
  const entries: Descriptor[] = [];
  const byDigest = new Map(image.documents.map((d) => [d.digest, d]));
  const named = new Set<Digest>();
  const name = `${image.registry}/${image.repository}`;
  for (const { tag, digest } of image.tags) {
    const doc = byDigest.get(digest)!;
    entries.push({
      mediaType: doc.mediaType,
      digest,
      size: doc.size,
      annotations: { [Annotation.refName]: `${name}:${tag}` },
    });
    named.add(digest);
  }
  if (!named.has(image.digest))
    entries.push({ mediaType: image.mediaType, digest: image.digest, size: image.size });
  return entries;
}

async function streamBlob(
  writer: ArchiveWriter,
  client: RegistryClient,
  image: BundleImage,
  blob: BundleBlob,
  options: CreateBundleOptions,
): Promise<void> {
  const res = await client.fetchBlob(image.repository, blob.digest);
  const hash = new DigestStream(digestAlgorithm(blob.digest));
  const where = `${image.reference} blob ${blob.digest}`;
  let last = 0;
  try {
    await writer.addStream(blobMember(blob.digest), blob.size, res.body, (chunk) => {
      hash.update(chunk);
      if (hash.size - last >= 4 * 1024 * 1024 || hash.size === blob.size) {
        last = hash.size;
        options.onProgress?.({
          image: image.reference,
          digest: blob.digest,
          current: hash.size,
          total: blob.size,
          state: 'transferring',
        });
      }
    });
  } catch (error) {
    res.body.destroy();
    if (error instanceof VnfpipeError)
      throw new VnfpipeError(error.code, error.message, { where, cause: error });
    throw error;
  }
  const actual = hash.digest();
  if (actual !== blob.digest)
    throw new VnfpipeError('OCI_DIGEST_MISMATCH', `the registry sent content with digest ${actual}`, {
      where,
      hint: 'the source registry holds a corrupt blob: push the image again',
    });
  options.onProgress?.({
    image: image.reference,
    digest: blob.digest,
    current: blob.size,
    total: blob.size,
    state: 'done',
  });
}
