/**
 * A `docker save` archive read as it streams (the engine's `/images/{name}/get`), straight into a layout: each
 * layer tar is hashed while it is written as a blob, so the archive never lands on disk as a whole. Its sha256
 * is the layer's diff-id, so layers are checked against the config once `manifest.json` (near the end) and
 * the config have arrived; a layer the caller says the image does not have is refused while streaming.
 */
import type { Readable } from 'node:stream';
import type { ReadEntry } from 'tar';
import { VnfpipeError } from '../errors.js';
import { type ImageConfig, parseImageConfig } from './config.js';
import type { Descriptor } from './descriptor.js';
import type { Digest } from './digest.js';
import { type ImportedImage, writeImportedManifest } from './docker-archive.js';
import type { OciLayout } from './layout.js';
import { MediaType } from './media-types.js';
import { collectMember, readTarMembers } from './tar-members.js';
import { asArray, asObject, asString, MAX_DOCUMENT_BYTES, parseJsonDocument } from './validate.js';

export interface ArchiveStreamOptions {
  /** The image's diff-ids as the engine lists them: any other layer in the stream is refused. */
  diffIds: readonly Digest[];
  /** Names the stream in errors (`docker-engine:<tag>`). */
  where: string;
  signal?: AbortSignal;
}

function invalid(message: string, where: string): VnfpipeError {
  return new VnfpipeError('OCI_INVALID', message, {
    where,
    hint: 'the engine sent an image archive this reader does not understand: try again, or docker save it',
  });
}

/** `a/./b/` → `a/b`, as `docker save` names are compared. */
function memberName(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/');
}

function dirOf(name: string): string {
  const at = name.lastIndexOf('/');
  return at === -1 ? '' : name.slice(0, at);
}

/** Copies the streamed archive's only image into the layout (config, layers, manifest); tags nothing. */
export async function importDockerArchiveStream(
  body: Readable,
  layout: OciLayout,
  options: ArchiveStreamOptions,
): Promise<ImportedImage> {
  const { where } = options;
  const wanted = new Set<string>(options.diffIds);
  const documents = new Map<string, Buffer>();
  const layers = new Map<string, { digest: Digest; size: number }>();
  const links = new Map<string, string>();

  const layerInto = async (entry: ReadEntry, name: string) => {
    const writer = await layout.createBlobWriter();
    try {
      for await (const chunk of entry) await writer.write(chunk as Buffer);
      const written = await writer.commit();
      if (!wanted.has(written.digest)) {
        throw invalid(`layer ${name} (${written.digest}) is not one of the image's diff-ids`, where);
      }
      layers.set(name, written);
    } catch (error) {
      await writer.abort();
      throw error;
    }
  };

  await readTarMembers(
    body,
    (entry, track) => {
      const name = memberName(entry.path);
      if (entry.type === 'SymbolicLink' || entry.type === 'Link') {
        // `docker save` links a layer it already wrote: `<id>/layer.tar -> ../<other>/layer.tar`.
        const target = entry.type === 'Link' ? entry.linkpath! : `${dirOf(name)}/${entry.linkpath}`;
        links.set(name, memberName(target));
        entry.resume();
      } else if (entry.type !== 'File' && entry.type !== 'OldFile') {
        entry.resume();
      } else if (name.endsWith('/layer.tar')) {
        track(layerInto(entry, name));
      } else if (entry.size > MAX_DOCUMENT_BYTES) {
        entry.resume();
      } else {
        track(collectMember(entry).then((data) => void documents.set(name, data)));
      }
    },
    options.signal,
  );
  return writeImage(layout, documents, layers, links, where);
}

async function writeImage(
  layout: OciLayout,
  documents: Map<string, Buffer>,
  layers: Map<string, { digest: Digest; size: number }>,
  links: Map<string, string>,
  where: string,
): Promise<ImportedImage> {
  const manifestBytes = documents.get('manifest.json');
  if (!manifestBytes) throw invalid('the archive has no manifest.json', where);
  const list = asArray(
    parseJsonDocument(`{"images":${manifestBytes.toString('utf8')}}`, `${where}:manifest.json`).images,
    '$',
    `${where}:manifest.json`,
  );
  if (list.length !== 1) throw invalid(`the archive holds ${list.length} images, not one`, where);
  const entry = asObject(list[0], '$[0]', `${where}:manifest.json`);
  const configName = memberName(asString(entry.Config, '$[0].Config', `${where}:manifest.json`));
  const layerNames = asArray(entry.Layers, '$[0].Layers', `${where}:manifest.json`).map((l, i) =>
    asString(l, `$[0].Layers[${i}]`, `${where}:manifest.json`),
  );
  const configBytes = documents.get(configName);
  if (!configBytes) throw invalid(`the archive has no config ${configName}`, where);
  const config: ImageConfig = parseImageConfig(configBytes, `${where} (${configName})`);
  if (config.rootfs.diff_ids.length !== layerNames.length) {
    throw invalid(
      `config lists ${config.rootfs.diff_ids.length} diff_ids but the archive has ${layerNames.length} layers`,
      where,
    );
  }
  const descriptors: Descriptor[] = layerNames.map((raw, i) => {
    let name = memberName(raw);
    for (let hops = 0; hops < 8 && links.has(name); hops++) name = links.get(name)!;
    const layer = layers.get(name);
    if (!layer) throw invalid(`member ${raw} is missing`, where);
    const diffId = config.rootfs.diff_ids[i]!;
    if (layer.digest !== diffId) {
      throw new VnfpipeError(
        'OCI_DIGEST_MISMATCH',
        `layer ${raw} does not have the config's diff-id ${diffId}`,
        {
          where,
          hint: 'the engine sent a damaged image: build again',
        },
      );
    }
    return { mediaType: MediaType.ociLayer, digest: layer.digest, size: layer.size };
  });
  const configDescriptor = await layout.writeBlob(configBytes, MediaType.ociConfig);
  return writeImportedManifest(layout, config, configDescriptor, descriptors, where);
}
