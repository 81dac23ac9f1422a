/**
 * Referrers: manifests whose `subject` points at an image (SBOMs, signatures, reports). Registries with the
 * referrers API index them on push (they answer `OCI-Subject`); for the others (distribution 2.8) the
 * spec's fallback is an index tagged `<alg>-<hex>` listing them, which the pusher maintains.
 */
import type { Descriptor } from '../oci/descriptor.js';
import { type Digest, digestAlgorithm, digestHex } from '../oci/digest.js';
import { canonicalJson, type ImageIndex, parseIndex } from '../oci/manifest.js';
import { MediaType } from '../oci/media-types.js';
import type { RegistryClient } from './client.js';

/** The fallback tag of a subject: `sha256-<hex>`. */
export function referrersTag(subject: Digest): string {
  return `${digestAlgorithm(subject)}-${digestHex(subject)}`;
}

/** The descriptor a referrers index lists for a manifest: with its artifactType and annotations. */
export function referrerDescriptor(
  descriptor: Descriptor,
  document: { artifactType?: string; config?: Descriptor; annotations?: Record<string, string> },
): Descriptor {
  const out: Descriptor = {
    mediaType: descriptor.mediaType,
    digest: descriptor.digest,
    size: descriptor.size,
  };
  const artifactType = document.artifactType ?? document.config?.mediaType;
  if (artifactType) out.artifactType = artifactType;
  if (document.annotations && Object.keys(document.annotations).length)
    out.annotations = document.annotations;
  return out;
}

async function fallbackIndex(
  client: RegistryClient,
  repository: string,
  subject: Digest,
): Promise<ImageIndex | undefined> {
  const tag = referrersTag(subject);
  try {
    const fetched = await client.getManifest(repository, tag, MediaType.ociIndex);
    return parseIndex(fetched.bytes, `${client.registry}/${repository}:${tag}`, fetched.mediaType);
  } catch (error) {
    if ((error as { code?: string }).code === 'OCI_NOT_FOUND') return undefined;
    throw error;
  }
}

/** Fallback-index updates under way in this process, by registry/repository@subject. */
const updating = new Map<string, Promise<void>>();

/**
 * After pushing a manifest with a subject: when the registry did not index it (no `OCI-Subject`), add it
 * to the fallback index. Read-modify-write, serialised per subject within this process (a pipeline's sign
 * and attest steps attach to one image at once); pushers in other processes may still race, as the spec
 * accepts.
 */
export async function recordReferrer(
  client: RegistryClient,
  repository: string,
  subject: Digest,
  referrer: Descriptor,
  indexedByRegistry: boolean,
): Promise<void> {
  if (indexedByRegistry) return;
  const key = `${client.registry}/${repository}@${subject}`;
  const previous = updating.get(key) ?? Promise.resolve();
  const update = previous
    .catch(() => undefined)
    .then(async () => {
      const current = await fallbackIndex(client, repository, subject);
      const manifests = (current?.manifests ?? []).filter((d) => d.digest !== referrer.digest);
      manifests.push(referrer);
      const index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests };
      await client.putManifest(repository, referrersTag(subject), canonicalJson(index), MediaType.ociIndex);
    });
  updating.set(key, update);
  try {
    await update;
  } finally {
    if (updating.get(key) === update) updating.delete(key);
  }
}

export interface ListReferrersOptions {
  artifactType?: string;
}

/** Referrers of a subject: the referrers API when the registry has it, else the fallback tag. */
export async function listReferrers(
  client: RegistryClient,
  repository: string,
  subject: Digest,
  options: ListReferrersOptions = {},
): Promise<{ referrers: Descriptor[]; source: 'api' | 'tag' }> {
  const api = await client.referrersApi(repository, subject, options.artifactType);
  const filter = (list: Descriptor[]) =>
    options.artifactType ? list.filter((d) => d.artifactType === options.artifactType) : list;
  if (api) return { referrers: filter(api.manifests), source: 'api' };
  const index = await fallbackIndex(client, repository, subject);
  return { referrers: filter(index?.manifests ?? []), source: 'tag' };
}
