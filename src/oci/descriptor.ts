/** Content descriptors: what a manifest or index points to. */
import type { Annotations } from './annotations.js';
import { type Digest, parseDigest } from './digest.js';
import { type Platform, parsePlatformValue } from './platform.js';
import { asInteger, asObject, asString, optString, optStringArray, optStringMap } from './validate.js';

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Annotations;
  platform?: Platform;
  artifactType?: string;
}

export function parseDescriptor(value: unknown, path: string, where: string | undefined): Descriptor {
  const object = asObject(value, path, where);
  const descriptor: Descriptor = {
    mediaType: asString(object.mediaType, `${path}.mediaType`, where),
    digest: parseDigest(object.digest, where),
    size: asInteger(object.size, `${path}.size`, where),
  };
  const urls = optStringArray(object.urls, `${path}.urls`, where);
  if (urls) descriptor.urls = urls;
  const annotations = optStringMap(object.annotations, `${path}.annotations`, where);
  if (annotations) descriptor.annotations = annotations;
  if (object.platform !== undefined)
    descriptor.platform = parsePlatformValue(object.platform, `${path}.platform`, where);
  const artifactType = optString(object.artifactType, `${path}.artifactType`, where);
  if (artifactType) descriptor.artifactType = artifactType;
  return descriptor;
}
