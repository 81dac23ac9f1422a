/**
 * Files in and out of a container through the engine's archive endpoint, with the project's own tar writer
 * and reader: each entry's mode and owner are exactly what the caller gives (no scratch files, so the
 * deploying process's umask and user play no part).
 */
import { VnfpipeError } from '../../errors.js';
import { encodeTarHeader, paddingFor, tarTrailer } from '../../image/tar.js';
import { type TarEntry, TarReader } from '../../scan/image/tar.js';
import { type DockerEngine, EngineError } from '../engine/client.js';

export interface ArchiveFile {
  /** Path relative to where the archive is extracted (or absolute: the leading `/` is dropped). */
  path: string;
  data: string | Buffer;
  mode: number;
  uid?: number;
  gid?: number;
}

/** A tar archive of in-memory files. Parent directories are left out: existing ones keep their owner and mode. */
export function archiveOf(files: ArchiveFile[]): Buffer {
  const mtime = Math.floor(Date.now() / 1000);
  const parts: Buffer[] = [];
  for (const file of files) {
    const data = typeof file.data === 'string' ? Buffer.from(file.data) : file.data;
    parts.push(
      encodeTarHeader({
        path: file.path.replace(/^\/+/, ''),
        type: 'file',
        mode: file.mode,
        uid: file.uid ?? 0,
        gid: file.gid ?? 0,
        size: data.length,
        mtime,
      }),
      data,
      Buffer.alloc(paddingFor(data.length)),
    );
  }
  parts.push(tarTrailer());
  return Buffer.concat(parts);
}

/** Extracts an archive at `dir` in a container (created or running). */
export async function extractInto(
  engine: DockerEngine,
  container: string,
  dir: string,
  archive: Buffer,
): Promise<void> {
  await engine.call({
    method: 'PUT',
    path: `/containers/${encodeURIComponent(container)}/archive`,
    query: { path: dir },
    data: archive,
    contentType: 'application/x-tar',
  });
}

/** One file of a container as the engine archives it: its tar entry and content, or undefined when absent. */
export async function readContainerFile(
  engine: DockerEngine,
  container: string,
  path: string,
  maxBytes = 1024 * 1024,
): Promise<{ entry: TarEntry; data: Buffer } | undefined> {
  let res: Awaited<ReturnType<DockerEngine['raw']>>;
  try {
    res = await engine.raw({
      path: `/containers/${encodeURIComponent(container)}/archive`,
      query: { path },
    });
  } catch (error) {
    if (error instanceof EngineError && error.status === 404) return undefined;
    throw error;
  }
  const where = `container ${container} ${path}`;
  let found: { entry: TarEntry; data: Buffer } | undefined;
  const reader = new TarReader(
    where,
    (entry) => {
      if (found) return undefined;
      const chunks: Buffer[] = [];
      found = { entry, data: Buffer.alloc(0) };
      const current = found;
      return {
        data: (chunk) => chunks.push(Buffer.from(chunk)),
        end: () => {
          current.data = Buffer.concat(chunks);
        },
      };
    },
    {
      maxEntryBytes: maxBytes,
      maxMetaBytes: 64 * 1024,
      maxMetaTotalBytes: 1024 * 1024,
      maxEntries: 1_000_000,
    },
  );
  for await (const chunk of res) reader.write(chunk as Buffer);
  reader.finish();
  if (!found) {
    throw new VnfpipeError('STEP_FAILED', 'the engine answered with an empty archive', { where });
  }
  return found;
}
