/**
 * OCI artifacts, as ORAS makes them: arbitrary files as the layers of a manifest with an `artifactType`
 * and the empty config, optionally attached to an image through `subject` (then listed by its referrers).
 * Used to attach SBOMs and reports to the image they describe.
 */
import { createReadStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { VnfpipeError } from '../errors.js';
import { mapLimit } from '../limit.js';
import { Annotation } from '../oci/annotations.js';
import type { Descriptor } from '../oci/descriptor.js';
import { type Digest, DigestStream, isDigest } from '../oci/digest.js';
import { canonicalJson, parseManifest } from '../oci/manifest.js';
import { MediaType } from '../oci/media-types.js';
import { pidOf, removeOrphanedTemps } from '../pipeline/fsutil.js';
import type { RegistryClient } from './client.js';
import { downloadBlob } from './download.js';
import { recordReferrer, referrerDescriptor } from './referrers.js';
import { uploadBlob } from './upload.js';

/** The spec's empty descriptor: `{}` as the config of artifacts that have none. */
export const EMPTY_CONFIG: Descriptor = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
};
const EMPTY_BYTES = Buffer.from('{}');

export interface ArtifactFile {
  /** A file on disk. */
  path: string;
  /** Layer media type (default application/octet-stream). */
  mediaType?: string;
  /** The name recorded in `org.opencontainers.image.title` (default: the file's base name). */
  name?: string;
}

export interface PushArtifactOptions {
  repository: string;
  artifactType: string;
  files: readonly ArtifactFile[];
  /** Tag for the artifact itself (attached artifacts usually have none). */
  tag?: string;
  /** The image this artifact is about. */
  subject?: Descriptor;
  annotations?: Record<string, string>;
  onProgress?: (file: string, current: number, total: number) => void;
}

export interface PushedArtifact {
  descriptor: Descriptor;
  /** `host/repo[:tag]@digest` */
  reference: string;
}

/** A file name we will write: one path component, nothing hidden behind it. */
function safeName(name: string, where: string): string {
  if (!name || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new VnfpipeError('OCI_INVALID', `unsafe file name ${JSON.stringify(name)} in artifact`, { where });
  }
  return name;
}

async function hashFile(path: string): Promise<{ digest: Digest; size: number }> {
  const hash = new DigestStream();
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }))
      hash.update(chunk as Buffer);
  } catch (error) {
    throw new VnfpipeError(
      'USAGE',
      `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      { where: path },
    );
  }
  return { digest: hash.digest(), size: hash.size };
}

export async function pushArtifact(
  client: RegistryClient,
  options: PushArtifactOptions,
): Promise<PushedArtifact> {
  const { repository } = options;
  if (!options.artifactType)
    throw new VnfpipeError('USAGE', 'an artifact needs an artifactType', { where: repository });
  if (options.files.length === 0)
    throw new VnfpipeError('USAGE', 'an artifact needs at least one file', { where: repository });
  const names = new Set<string>();
  const layers = await mapLimit(options.files, 4, async (file) => {
    const name = safeName(file.name ?? basename(file.path), file.path);
    if (names.has(name)) throw new VnfpipeError('USAGE', `two files are named ${name}`, { where: file.path });
    names.add(name);
    const { digest, size } = await hashFile(file.path);
    await uploadBlob(
      client,
      repository,
      digest,
      {
        size,
        open: (start, end) =>
          createReadStream(file.path, { start, end: end - 1, highWaterMark: 1024 * 1024 }),
      },
      { onProgress: (current) => options.onProgress?.(name, current, size) },
    );
    const layer: Descriptor = {
      mediaType: file.mediaType ?? 'application/octet-stream',
      digest,
      size,
      annotations: { [Annotation.title]: name },
    };
    return layer;
  });
  await uploadBlob(client, repository, EMPTY_CONFIG.digest, {
    size: 2,
    open: () => Readable.from([EMPTY_BYTES]),
  });
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: options.artifactType,
    config: EMPTY_CONFIG,
    layers,
    subject: options.subject
      ? { mediaType: options.subject.mediaType, digest: options.subject.digest, size: options.subject.size }
      : undefined,
    annotations:
      options.annotations && Object.keys(options.annotations).length ? options.annotations : undefined,
  };
  const bytes = canonicalJson(manifest);
  const put = await client.putManifest(
    repository,
    options.tag ?? digestOfBytes(bytes),
    bytes,
    MediaType.ociManifest,
  );
  const descriptor: Descriptor = { mediaType: MediaType.ociManifest, digest: put.digest, size: bytes.length };
  if (options.subject) {
    await recordReferrer(
      client,
      repository,
      options.subject.digest,
      referrerDescriptor(descriptor, {
        artifactType: options.artifactType,
        annotations: manifest.annotations,
      }),
      put.subject !== undefined,
    );
  }
  return {
    descriptor: { ...descriptor, artifactType: options.artifactType },
    reference: `${client.registry}/${repository}${options.tag ? `:${options.tag}` : ''}@${put.digest}`,
  };
}

function digestOfBytes(bytes: Buffer): Digest {
  const hash = new DigestStream();
  hash.update(bytes);
  return hash.digest();
}

/** The descriptor of a tag or digest in a repository (HEAD). */
export async function resolveDescriptor(
  client: RegistryClient,
  repository: string,
  reference: string,
): Promise<Descriptor> {
  const found = await client.headManifest(repository, reference);
  if (!found) {
    throw new VnfpipeError('OCI_NOT_FOUND', 'manifest not found', {
      where: `${client.registry}/${repository}${isDigest(reference) ? '@' : ':'}${reference}`,
    });
  }
  return found;
}

export interface PulledArtifact {
  artifactType?: string;
  digest: Digest;
  files: Array<{ name: string; path: string; digest: Digest; size: number; mediaType: string }>;
}

/** Downloads an artifact's titled layers into `outDir` (each verified, then renamed into place). */
export async function pullArtifact(
  client: RegistryClient,
  repository: string,
  reference: string,
  outDir: string,
): Promise<PulledArtifact> {
  const fetched = await client.getManifest(repository, reference);
  const where = `${client.registry}/${repository}@${fetched.digest}`;
  const manifest = parseManifest(fetched.bytes, where, fetched.mediaType);
  const dir = resolve(outDir);
  await stat(dir).catch(() => {
    throw new VnfpipeError('USAGE', 'output directory does not exist', { where: dir });
  });
  const wanted = manifest.layers.filter((layer) => layer.annotations?.[Annotation.title] !== undefined);
  const names = wanted.map((layer) => safeName(layer.annotations![Annotation.title]!, where));
  if (new Set(names).size !== names.length)
    throw new VnfpipeError('OCI_INVALID', 'artifact names a file twice', { where });
  const temps = names.map((name) => join(dir, `.${name}.vnfpipe-${process.pid}.tmp`));
  // What a pull killed midway left here (`.<name>.vnfpipe-<pid>.tmp`).
  await removeOrphanedTemps(dir, (name) => pidOf(/^\..+\.vnfpipe-(\d+)\.tmp$/, name));
  try {
    await mapLimit(wanted, 4, (layer, i) => downloadBlob(client, repository, layer, temps[i]!));
    for (let i = 0; i < wanted.length; i++) await rename(temps[i]!, join(dir, names[i]!));
  } finally {
    await Promise.all(temps.map((temp) => rm(temp, { force: true })));
  }
  const result: PulledArtifact = {
    digest: fetched.digest,
    files: wanted.map((layer, i) => ({
      name: names[i]!,
      path: join(dir, names[i]!),
      digest: layer.digest,
      size: layer.size,
      mediaType: layer.mediaType,
    })),
  };
  if (manifest.artifactType ?? manifest.config.mediaType)
    result.artifactType = manifest.artifactType ?? manifest.config.mediaType;
  return result;
}
