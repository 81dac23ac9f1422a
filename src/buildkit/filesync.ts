/**
 * The sending side of FileSync.DiffCopy (fsutil's wire): every entry as a STAT packet, directories before
 * their children and names byte-sorted per directory, an empty STAT to end the listing; then the file
 * contents the receiver asks for by REQ (id = index in the STAT sequence), each ended by an empty DATA; a FIN
 * is answered with FIN. Exclusion follows .dockerignore semantics with the native builder's matcher.
 */
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { createMatcher, type PathMatcher } from '../image/dockerignore.js';
import { type Stat, StatSchema } from './gen/github.com/tonistiigi/fsutil/types/stat_pb.js';
import {
  type Packet,
  Packet_PacketType,
  PacketSchema,
} from './gen/github.com/tonistiigi/fsutil/types/wire_pb.js';

/** Go's os.FileMode type bits, which fsutil puts on the wire. */
const GO_MODE_DIR = 0x80000000;
const GO_MODE_SYMLINK = 0x08000000;
// Larger than fsutil's own 32 KiB: fewer messages for big contexts, well under gRPC's 4 MiB message limit.
const CHUNK = 1024 * 1024;

export interface SyncFilter {
  include?: readonly string[];
  exclude?: readonly string[];
  /** Paths the receiver needs followed (Dockerfile names): only they and their parents are sent. */
  followPaths?: readonly string[];
}

export interface SyncEntry {
  stat: Stat;
  /** Absolute host path of a regular file, for REQ. */
  file?: string;
}

function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** The STAT sequence of a directory, filtered. */
export async function listEntries(root: string, filter: SyncFilter = {}): Promise<SyncEntry[]> {
  const exclude = createMatcher(filter.exclude ?? []);
  const includes = [...(filter.include ?? []), ...(filter.followPaths ?? [])];
  const include: PathMatcher | undefined = includes.length ? createMatcher(includes) : undefined;
  const out: SyncEntry[] = [];

  // A directory is sent when it is itself wanted or something below it is.
  async function walk(dir: string, rel: string): Promise<void> {
    const names = (await readdir(dir)).sort(byteCompare);
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const host = join(dir, name);
      const info = await lstat(host);
      const excluded = exclude.matches(path);
      const included = !include || include.matches(path);
      if (info.isDirectory()) {
        // An excluded directory is only entered when a `!` pattern could bring something below it back.
        if (excluded && !exclude.hasNegations) continue;
        const at = out.length;
        out.push({ stat: statOf(path, info, GO_MODE_DIR | (info.mode & 0o7777)) });
        await walk(host, path);
        const sentChildren = out.length > at + 1;
        if (!sentChildren && (excluded || !included)) out.splice(at, 1);
        continue;
      }
      if (excluded || !included) continue;
      if (info.isSymbolicLink()) {
        const stat = statOf(path, info, GO_MODE_SYMLINK | (info.mode & 0o777));
        stat.linkname = await readlink(host);
        out.push({ stat });
      } else if (info.isFile()) {
        const stat = statOf(path, info, info.mode & 0o7777);
        stat.size = BigInt(info.size);
        out.push({ stat, file: host });
      }
      // Sockets, FIFOs and devices are not build context.
    }
  }
  await walk(root, '');
  return out;
}

function statOf(path: string, info: Awaited<ReturnType<typeof lstat>>, mode: number): Stat {
  return create(StatSchema, {
    path,
    mode: mode >>> 0,
    uid: Number(info.uid),
    gid: Number(info.gid),
    modTime: BigInt(Math.trunc(Number(info.mtimeMs) * 1e6)),
  });
}

const packet = (init: MessageInitShape<typeof PacketSchema>): Packet => create(PacketSchema, init);

/** The DiffCopy conversation for one directory, as a connect bidi handler body. */
export async function* sendDirectory(
  root: string,
  filter: SyncFilter,
  requests: AsyncIterable<Packet>,
): AsyncGenerator<Packet> {
  const entries = await listEntries(root, filter);
  for (const entry of entries) yield packet({ type: Packet_PacketType.PACKET_STAT, stat: entry.stat });
  yield packet({ type: Packet_PacketType.PACKET_STAT });
  for await (const request of requests) {
    if (request.type === Packet_PacketType.PACKET_FIN) {
      yield packet({ type: Packet_PacketType.PACKET_FIN });
      return;
    }
    if (request.type !== Packet_PacketType.PACKET_REQ) continue;
    const entry = entries[request.ID];
    if (!entry?.file) {
      yield packet({
        type: Packet_PacketType.PACKET_ERR,
        data: Buffer.from(`no file with id ${request.ID}`),
      });
      return;
    }
    for await (const chunk of createReadStream(entry.file, { highWaterMark: CHUNK })) {
      yield packet({ type: Packet_PacketType.PACKET_DATA, ID: request.ID, data: chunk as Buffer });
    }
    yield packet({ type: Packet_PacketType.PACKET_DATA, ID: request.ID });
  }
}
