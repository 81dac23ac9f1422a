/**
 * `pushBundle`: mirrors a bundle into a site registry with every digest kept. Only the registry part of a
 * reference changes (plus an optional path prefix): `build:5000/vnf/vfw:1` → `site:5000[/prefix]/vnf/vfw:1`.
 * Per image: blobs first (skipped when the site has them — a HEAD — or mounted from a repository this push
 * already filled), then documents by digest, children first, then tags, the image's own last, so no tag
 * ever names something incomplete. An interrupted push is resumed by running it again: finished blobs are
 * skipped, a blob cut mid-upload starts a fresh upload session.
 */
import { VnfpipeError } from '../../errors.js';
import { mapLimit } from '../../limit.js';
import type { Digest } from '../../oci/digest.js';
import { parseRegistryReference } from '../../oci/reference.js';
import { MAX_DOCUMENT_BYTES } from '../../oci/validate.js';
import { type ClientOptions, RegistryClient } from '../../registry/client.js';
import { recordReferrer, referrersTag } from '../../registry/referrers.js';
import { uploadBlob } from '../../registry/upload.js';
import { BundleArchive } from './archive.js';
import { type BundleImage, blobMember } from './format.js';
import { readBundleIndex } from './verify.js';

export interface PushBundleOptions {
  /** Blobs moving at once (default 4). */
  concurrency?: number;
  /** Client options per registry (credentials, TLS); `default` applies to every registry. */
  registries?: Record<string, ClientOptions>;
  chunkThreshold?: number;
  chunkSize?: number;
  signal?: AbortSignal;
  onProgress?: (progress: PushProgress) => void;
  onLog?: (line: string) => void;
}

export interface PushProgress {
  image: string;
  digest: Digest;
  current: number;
  total: number;
  state: 'transferring' | 'exists' | 'mounted' | 'uploaded';
  /** Blobs of the whole bundle finished so far, and in all. */
  blobsDone: number;
  blobsTotal: number;
}

export interface PushedBundleImage {
  /** The reference in the bundle (where it was built). */
  source: string;
  /** The same image at the site, pinned: `site/prefix/repo:tag@sha256:…`. */
  reference: string;
  digest: Digest;
  blobs: { uploaded: number; skipped: number; mounted: number; bytes: number };
}

export interface PushedBundle {
  registry: string;
  prefix?: string;
  images: PushedBundleImage[];
}

/** `host[:port][/prefix]` → its parts, checked as a reference would be. */
export function parseSiteDestination(text: string): { registry: string; prefix?: string } {
  const slash = text.indexOf('/');
  const registry = slash === -1 ? text : text.slice(0, slash);
  const prefix = slash === -1 ? undefined : text.slice(slash + 1).replace(/\/+$/, '');
  let parsed: ReturnType<typeof parseRegistryReference>;
  try {
    parsed = parseRegistryReference(`${registry}/${prefix ? `${prefix}/` : ''}x`);
  } catch (error) {
    throw new VnfpipeError('USAGE', `invalid site registry ${JSON.stringify(text)}`, {
      hint: 'write host[:port][/prefix], e.g. registry.site-a:5000/vnf',
      cause: error,
    });
  }
  if (
    parsed.registry !== registry ||
    (!registry.includes('.') && !registry.includes(':') && registry !== 'localhost')
  )
    throw new VnfpipeError('USAGE', `invalid site registry ${JSON.stringify(text)}: no registry host`, {
      hint: 'write host[:port][/prefix], e.g. registry.site-a:5000/vnf',
    });
  return prefix ? { registry, prefix } : { registry };
}

/** The site reference of an image: only the registry (and the prefix) change. */
export function siteReference(image: BundleImage, registry: string, prefix?: string): string {
  const repository = prefix ? `${prefix}/${image.repository}` : image.repository;
  return `${registry}/${repository}${image.tag ? `:${image.tag}` : ''}@${image.digest}`;
}

export async function pushBundle(
  path: string,
  destination: string,
  options: PushBundleOptions = {},
): Promise<PushedBundle> {
  const site = parseSiteDestination(destination);
  const archive = await BundleArchive.open(path);
  const index = await readBundleIndex(archive);
  const settings = { ...options.registries?.default, ...options.registries?.[site.registry] };
  const client = new RegistryClient(site.registry, { signal: options.signal, ...settings });
  const blobsTotal = index.images.reduce((n, image) => n + image.blobs.length, 0);
  let blobsDone = 0;
  /** Repositories of the site that hold each blob after this push: mount sources for later images. */
  const holders = new Map<Digest, string>();
  const pushed: PushedBundleImage[] = [];
  try {
    for (const image of index.images) {
      const repository = site.prefix ? `${site.prefix}/${image.repository}` : image.repository;
      const counts = { uploaded: 0, skipped: 0, mounted: 0, bytes: 0 };
      await mapLimit(image.blobs, options.concurrency ?? 4, async (blob) => {
        const member = archive.member(blobMember(blob.digest));
        if (!member)
          throw new VnfpipeError('BUNDLE_INVALID', `blob ${blob.digest} of ${image.reference} is missing`, {
            where: path,
            hint: 'run vnfpipe bundle verify on it',
          });
        const report = (current: number, state: PushProgress['state']) =>
          options.onProgress?.({
            image: image.reference,
            digest: blob.digest,
            current,
            total: blob.size,
            state,
            blobsDone,
            blobsTotal,
          });
        const from = holders.get(blob.digest);
        const result = await damagedBlobError(
          uploadBlob(
            client,
            repository,
            blob.digest,
            { size: member.size, open: (start, end) => archive.stream(member, start, end) },
            {
              mountFrom: from && from !== repository ? [from] : [],
              ...(options.chunkSize ? { chunkSize: options.chunkSize } : {}),
              ...(options.chunkThreshold ? { chunkThreshold: options.chunkThreshold } : {}),
              onProgress: (current) => report(current, 'transferring'),
            },
          ),
          image,
          blob.digest,
          path,
        );
        holders.set(blob.digest, repository);
        if (result === 'exists') counts.skipped++;
        else if (result === 'mounted') counts.mounted++;
        else {
          counts.uploaded++;
          counts.bytes += blob.size;
        }
        blobsDone++;
        report(blob.size, result === 'uploaded' ? 'uploaded' : result);
      });
      const tagged = new Set(image.tags.map((t) => t.digest));
      const fallbackSubjects = new Set(
        image.tags.map((t) => t.tag).filter((t) => /^sha(256|512)-[a-f0-9]+$/.test(t)),
      );
      for (const doc of image.documents) {
        const bytes = await archive.read(blobMember(doc.digest), MAX_DOCUMENT_BYTES);
        const put = await client.putManifest(repository, doc.digest, bytes, doc.mediaType);
        // A referrer the site does not index itself and the bundle has no fallback index for gets one.
        if (
          doc.subject &&
          !put.subject &&
          !tagged.has(doc.digest) &&
          !fallbackSubjects.has(referrersTag(doc.subject))
        )
          await recordReferrer(client, repository, doc.subject, referrerEntry(doc), false);
      }
      for (const { tag, digest } of image.tags) {
        const doc = image.documents.find((d) => d.digest === digest)!;
        const bytes = await archive.read(blobMember(digest), MAX_DOCUMENT_BYTES);
        await client.putManifest(repository, tag, bytes, doc.mediaType);
      }
      const reference = siteReference(image, site.registry, site.prefix);
      options.onLog?.(
        `${reference} (${counts.uploaded} uploaded, ${counts.skipped} already there, ${counts.mounted} mounted)`,
      );
      pushed.push({ source: image.reference, reference, digest: image.digest, blobs: counts });
    }
  } finally {
    client.close();
  }
  return { registry: site.registry, ...(site.prefix ? { prefix: site.prefix } : {}), images: pushed };
}

/** The site refusing a blob's content (DIGEST_INVALID) means the bundle is damaged: say so, and how to see more. */
async function damagedBlobError<T>(
  upload: Promise<T>,
  image: BundleImage,
  digest: Digest,
  path: string,
): Promise<T> {
  try {
    return await upload;
  } catch (error) {
    if (!(error instanceof VnfpipeError) || !/DIGEST_INVALID/.test(error.message)) throw error;
    throw new VnfpipeError(
      'BUNDLE_VERIFY_FAILED',
      `blob ${digest} of ${image.reference} does not match its digest (the site registry refused it)`,
      {
        where: path,
        hint: 'the bundle is damaged: `vnfpipe bundle verify` lists what; create it again',
        cause: error,
      },
    );
  }
}

function referrerEntry(doc: BundleImage['documents'][number]) {
  return {
    mediaType: doc.mediaType,
    digest: doc.digest,
    size: doc.size,
    ...(doc.artifactType ? { artifactType: doc.artifactType } : {}),
  };
}
