/** Image manifests and image indexes: validation on read, canonical bytes on write. */
import type { Annotations } from './annotations.js';
import { type Descriptor, parseDescriptor } from './descriptor.js';
import { type Digest, digestOf, verifyDigest } from './digest.js';
import { isConfigMediaType, isIndexMediaType, isManifestMediaType, MediaType } from './media-types.js';
import { type Platform, platformMatches } from './platform.js';
import {
  asArray,
  asInteger,
  invalid,
  type JsonObject,
  optString,
  optStringMap,
  parseJsonDocument,
} from './validate.js';

export interface ImageManifest {
  schemaVersion: 2;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Annotations;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Annotations;
}

function checkSchemaVersion(object: JsonObject, where: string | undefined): 2 {
  if (asInteger(object.schemaVersion, '$.schemaVersion', where) !== 2) {
    throw invalid('schemaVersion must be 2', where, 'Docker schema 1 manifests are not supported');
  }
  return 2;
}

/**
 * The media type of a document: its own `mediaType` field, else the one its descriptor announced. When
 * both exist they must agree, so a manifest cannot pass for an index.
 */
function documentMediaType(
  object: JsonObject,
  expected: string | undefined,
  where: string | undefined,
): string | undefined {
  const own = optString(object.mediaType, '$.mediaType', where);
  if (own && expected && own !== expected) {
    throw invalid(`document says mediaType ${own} but was referenced as ${expected}`, where);
  }
  return own ?? expected;
}

/** Validates an image manifest (OCI or Docker v2 schema 2). `expected` is the descriptor's media type. */
export function parseManifest(data: string | Uint8Array, where?: string, expected?: string): ImageManifest {
  const object = parseJsonDocument(data, where);
  checkSchemaVersion(object, where);
  const mediaType = documentMediaType(object, expected, where) ?? MediaType.ociManifest;
  if (!isManifestMediaType(mediaType)) {
    throw invalid(
      `unexpected media type ${mediaType} for an image manifest`,
      where,
      isIndexMediaType(mediaType) ? 'this is an image index; pick a platform' : undefined,
    );
  }
  if (object.manifests !== undefined) throw invalid('an image manifest must not have "manifests"', where);
  const config = parseDescriptor(object.config, '$.config', where);
  if (!isConfigMediaType(config.mediaType) && object.artifactType === undefined) {
    throw invalid(`unexpected config media type ${config.mediaType}`, where);
  }
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType,
    config,
    layers: asArray(object.layers, '$.layers', where).map((layer, i) =>
      parseDescriptor(layer, `$.layers[${i}]`, where),
    ),
  };
  if (object.subject !== undefined) manifest.subject = parseDescriptor(object.subject, '$.subject', where);
  const artifactType = optString(object.artifactType, '$.artifactType', where);
  if (artifactType) manifest.artifactType = artifactType;
  const annotations = optStringMap(object.annotations, '$.annotations', where);
  if (annotations) manifest.annotations = annotations;
  return manifest;
}

/** Validates an image index (OCI) or manifest list (Docker). */
export function parseIndex(data: string | Uint8Array, where?: string, expected?: string): ImageIndex {
  const object = parseJsonDocument(data, where);
  checkSchemaVersion(object, where);
  const mediaType = documentMediaType(object, expected, where) ?? MediaType.ociIndex;
  if (!isIndexMediaType(mediaType)) {
    throw invalid(`unexpected media type ${mediaType} for an image index`, where);
  }
  if (object.layers !== undefined || object.config !== undefined) {
    throw invalid('an image index must not have "config" or "layers"', where);
  }
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType,
    manifests: asArray(object.manifests, '$.manifests', where).map((m, i) =>
      parseDescriptor(m, `$.manifests[${i}]`, where),
    ),
  };
  if (object.subject !== undefined) index.subject = parseDescriptor(object.subject, '$.subject', where);
  const artifactType = optString(object.artifactType, '$.artifactType', where);
  if (artifactType) index.artifactType = artifactType;
  const annotations = optStringMap(object.annotations, '$.annotations', where);
  if (annotations) index.annotations = annotations;
  return index;
}

/** Parses either kind of document, telling them apart by media type (or shape when it has none). */
export function parseManifestOrIndex(
  data: string | Uint8Array,
  where?: string,
  expected?: string,
): { kind: 'manifest'; manifest: ImageManifest } | { kind: 'index'; index: ImageIndex } {
  const object = parseJsonDocument(data, where);
  const mediaType = optString(object.mediaType, '$.mediaType', where) ?? expected;
  const looksLikeIndex = mediaType ? isIndexMediaType(mediaType) : Array.isArray(object.manifests);
  return looksLikeIndex
    ? { kind: 'index', index: parseIndex(data, where, expected) }
    : { kind: 'manifest', manifest: parseManifest(data, where, expected) };
}

/** Parses a document and checks its bytes against the descriptor that named it. */
export function verifiedBytes(data: Uint8Array, descriptor: Descriptor, where?: string): void {
  if (data.length !== descriptor.size) {
    throw invalid(
      `size is ${data.length} bytes, descriptor says ${descriptor.size}`,
      where ?? descriptor.digest,
    );
  }
  verifyDigest(data, descriptor.digest, where);
}

/**
 * The bytes we write for a document. JSON.stringify keeps insertion order, and the objects we build are
 * created in a fixed order, so the same value always gives the same bytes (and digest).
 */
export function canonicalJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value, dropUndefined));
}

function dropUndefined(_key: string, value: unknown): unknown {
  return value === undefined ? undefined : value;
}

/** A descriptor for a document we are about to write. */
export function describeDocument(
  bytes: Uint8Array,
  mediaType: string,
  extra: Partial<Descriptor> = {},
): Descriptor {
  return { mediaType, digest: digestOf(bytes), size: bytes.length, ...extra };
}

/** Picks the manifest for a platform from an index, or undefined. */
export function selectPlatform(index: ImageIndex, platform: Platform): Descriptor | undefined {
  return index.manifests.find(
    (m) => isManifestMediaType(m.mediaType) && platformMatches(platform, m.platform),
  );
}

export type { Digest };
