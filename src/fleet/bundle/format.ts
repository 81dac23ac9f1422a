/**
 * What a bundle holds besides the OCI layout: `vnfpipe-bundle.json`, the list of every image with the
 * documents and blobs it needs (digests, sizes), the tags to set at a site (the image's own, cosign's
 * `sha256-<hex>.sig`/`.att`/`.sbom` and the referrers fallback `sha256-<hex>`), and the files it carries
 * (rendered Kubernetes objects, workload specs). Read back with every field checked.
 */
import { type Digest, digestHex, parseDigest } from '../../oci/digest.js';
import { asArray, asObject, asString, parseJsonDocument } from '../../oci/validate.js';
import { malformed } from './archive.js';

export const BUNDLE_INDEX_FILE = 'vnfpipe-bundle.json';
export const BUNDLE_MEDIA_TYPE = 'application/vnd.vnfpipe.bundle.v1+json';

export interface BundleBlob {
  digest: Digest;
  mediaType: string;
  size: number;
}

/** A manifest or index: the image's own, or an artifact's (signature, attestation, SBOM). */
export interface BundleDocument extends BundleBlob {
  /** `os/arch[/variant]` of a platform manifest listed by an index. */
  platform?: string;
  /** The manifest an artifact is about (OCI 1.1 `subject`). */
  subject?: Digest;
  artifactType?: string;
}

export interface BundleTag {
  tag: string;
  digest: Digest;
}

export interface BundleImage {
  /** As the pipeline named it, pinned: `host/repo[:tag]@sha256:…`. */
  reference: string;
  registry: string;
  repository: string;
  tag?: string;
  digest: Digest;
  mediaType: string;
  size: number;
  /** Platforms of an index (empty for a single manifest). */
  platforms: string[];
  /** Every document, children before the documents that list them. */
  documents: BundleDocument[];
  /** Configs and layers of the image and of its artifacts. */
  blobs: BundleBlob[];
  /** Tags to set at a site; the image's own tag last. */
  tags: BundleTag[];
  /** cosign `.sig` and `.att` documents, and OCI 1.1 referrers (Sigstore bundles, SBOMs…), over all its manifests. */
  artifacts: { signatures: number; attestations: number; referrers: number };
}

export interface BundleFile {
  /** Member name: `kubernetes/<step>.yaml`, `workloads/<step>.json`. */
  path: string;
  kind: 'kubernetes' | 'workload';
  step: string;
  digest: Digest;
  size: number;
}

export interface BundleIndex {
  mediaType: typeof BUNDLE_MEDIA_TYPE;
  created: string;
  pipeline?: string;
  images: BundleImage[];
  files: BundleFile[];
}

/** The member name of a blob in the layout. */
export function blobMember(digest: Digest): string {
  return `blobs/${digest.slice(0, digest.indexOf(':'))}/${digestHex(digest)}`;
}

function size(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw malformed('a size is not a whole number ≥ 0', where);
  return value;
}

function blob(value: unknown, where: string): BundleBlob {
  const o = asObject(value, 'entry', where);
  return {
    digest: parseDigest(o.digest, where),
    mediaType: asString(o.mediaType, 'mediaType', where),
    size: size(o.size, where),
  };
}

function document(value: unknown, where: string): BundleDocument {
  const o = asObject(value, 'entry', where);
  const out: BundleDocument = blob(value, where);
  if (o.platform !== undefined) out.platform = asString(o.platform, 'platform', where);
  if (o.subject !== undefined) out.subject = parseDigest(o.subject, where);
  if (o.artifactType !== undefined) out.artifactType = asString(o.artifactType, 'artifactType', where);
  return out;
}

const SAFE_FILE = /^(kubernetes|workloads)\/[A-Za-z0-9][A-Za-z0-9._-]*\.(yaml|json)$/;

export function parseBundleIndex(bytes: Buffer, where: string): BundleIndex {
  const o = parseJsonDocument(bytes, where, 64 * 1024 * 1024);
  if (o.mediaType !== BUNDLE_MEDIA_TYPE)
    throw malformed(`${BUNDLE_INDEX_FILE} has media type ${JSON.stringify(o.mediaType)}`, where);
  const images = asArray(o.images, 'images', where).map((value, i) => {
    const at = `${where} images[${i}]`;
    const image = asObject(value, 'image', at);
    const tags = asArray(image.tags, 'tags', at).map((t) => {
      const tag = asObject(t, 'tag', at);
      const name = asString(tag.tag, 'tag', at);
      if (!/^[\w][\w.-]{0,127}$/.test(name)) throw malformed(`invalid tag ${JSON.stringify(name)}`, at);
      return { tag: name, digest: parseDigest(tag.digest, at) };
    });
    const artifacts = asObject(image.artifacts, 'artifacts', at);
    const out: BundleImage = {
      reference: asString(image.reference, 'reference', at),
      registry: asString(image.registry, 'registry', at),
      repository: asString(image.repository, 'repository', at),
      digest: parseDigest(image.digest, at),
      mediaType: asString(image.mediaType, 'mediaType', at),
      size: size(image.size, at),
      platforms: asArray(image.platforms, 'platforms', at).map((p) => asString(p, 'platform', at)),
      documents: asArray(image.documents, 'documents', at).map((d) => document(d, at)),
      blobs: asArray(image.blobs, 'blobs', at).map((b) => blob(b, at)),
      tags,
      artifacts: {
        signatures: size(artifacts.signatures, at),
        attestations: size(artifacts.attestations, at),
        referrers: size(artifacts.referrers, at),
      },
    };
    if (image.tag !== undefined) out.tag = asString(image.tag, 'tag', at);
    return out;
  });
  const files = asArray(o.files, 'files', where).map((value): BundleFile => {
    const f = asObject(value, 'entry', where);
    const path = asString(f.path, 'path', where);
    if (!SAFE_FILE.test(path)) throw malformed(`invalid file name ${JSON.stringify(path)}`, where);
    const kind: BundleFile['kind'] | undefined =
      f.kind === 'kubernetes' || f.kind === 'workload' ? f.kind : undefined;
    if (!kind) throw malformed(`invalid file kind ${JSON.stringify(f.kind)}`, where);
    return {
      path,
      kind,
      step: asString(f.step, 'step', where),
      digest: parseDigest(f.digest, where),
      size: size(f.size, where),
    };
  });
  const index: BundleIndex = {
    mediaType: BUNDLE_MEDIA_TYPE,
    created: asString(o.created, 'created', where),
    images,
    files,
  };
  if (o.pipeline !== undefined) index.pipeline = asString(o.pipeline, 'pipeline', where);
  return index;
}
