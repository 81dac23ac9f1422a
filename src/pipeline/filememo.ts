/**
 * A stat-keyed memo of file content hashes, as git's index does it: a file whose size, mtime, ctime, inode
 * and device are what they were when it was hashed is not read again. The memo is only a shortcut: every
 * entry is checked against a fresh `stat`, so a lost or stale memo costs a re-hash, never a wrong answer.
 *
 * "Racy" files: a file changed twice within one timestamp tick can keep its size and timestamps. An entry is
 * trusted only when the file's mtime and ctime are older, by more than the coarsest timestamp granularity
 * (FAT: 2 s), than the moment its hash was taken; a younger entry is hashed again on its next use (and is then
 * trusted, being old enough). Setting mtime back (`touch -d`) changes ctime, which only the kernel sets.
 */
import { type BigIntStats, readFileSync, statSync } from 'node:fs';
import { writeFileAtomic } from './fsutil.js';
import { hashFile, sha256 } from './hash.js';

/** Timestamps younger than this, relative to when the hash was taken, make an entry racy. */
export const RACY_MARGIN_NS = 2_000_000_000n;
/** Files up to this size are read in one synchronous call; bigger ones are streamed. */
const SMALL_FILE = 256 * 1024;
/** Most entries kept: the oldest-hashed go first. */
const MAX_ENTRIES = 20_000;
const FORMAT = 1;

/** size, mtime ns, ctime ns, inode, device, hashed-at ns (wall clock before reading), sha256. */
type Entry = [string, string, string, string, string, string, string];

function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** What identifies a version of a file, as the entry's first five fields hold it. */
function statKey(st: BigIntStats): string[] {
  return [st.size, st.mtimeNs, st.ctimeNs, st.ino, st.dev].map(String);
}

function sameKey(a: readonly string[], b: readonly string[]): boolean {
  return a.length >= 5 && b.length >= 5 && a.slice(0, 5).every((part, i) => part === b[i]);
}

function isRacy(entry: Entry): boolean {
  const newest = BigInt(entry[1]) > BigInt(entry[2]) ? BigInt(entry[1]) : BigInt(entry[2]);
  return newest + RACY_MARGIN_NS >= BigInt(entry[5]);
}

export interface MemoStats {
  /** Answered from the memo without reading the file. */
  hits: number;
  /** Files read and hashed. */
  hashed: number;
}

export class FileHashMemo {
  private entries: Map<string, Entry> | undefined;
  private dirty = false;
  private writing: Promise<void> = Promise.resolve();
  readonly stats: MemoStats = { hits: 0, hashed: 0 };

  /** `file`: where the memo is kept (under the state directory); undefined keeps it in memory only. */
  constructor(private readonly file: string | undefined) {}

  /**
   * Reads the memo once. Metadata work here is synchronous on purpose: a `stat` or a read of a small file
   * takes microseconds on the main thread, while each asynchronous one waits its turn in libuv's thread
   * pool — milliseconds on a busy machine, for every file of every check.
   */
  private load(): Map<string, Entry> {
    if (this.entries) return this.entries;
    const entries = new Map<string, Entry>();
    if (this.file) {
      try {
        const data = JSON.parse(readFileSync(this.file, 'utf8')) as {
          format?: number;
          entries?: Record<string, unknown>;
        };
        if (data.format === FORMAT && data.entries && typeof data.entries === 'object') {
          for (const [path, entry] of Object.entries(data.entries)) {
            if (
              Array.isArray(entry) &&
              entry.length === 7 &&
              entry.every((part) => typeof part === 'string' && /^[0-9a-f]+$/.test(part))
            )
              entries.set(path, entry as Entry);
          }
        }
      } catch {
        // Missing or unreadable: start empty (every file is hashed once).
      }
    }
    this.entries = entries;
    return entries;
  }

  /**
   * The sha256 (hex) of a file's content; rejects as reading it would (ENOENT, EISDIR). `path` is absolute.
   */
  async hash(path: string): Promise<string> {
    const entries = this.load();
    const before = statSync(path, { bigint: true });
    if (!before.isFile()) return hashFile(path);
    let current = statKey(before);
    const known = entries.get(path);
    if (known && sameKey(known, current) && !isRacy(known)) {
      this.stats.hits++;
      return known[6];
    }
    for (let tries = 0; ; tries++) {
      const at = nowNs();
      const hash = Number(current[0]) <= SMALL_FILE ? sha256(readFileSync(path)) : await hashFile(path);
      this.stats.hashed++;
      const after = statKey(statSync(path, { bigint: true }));
      if (sameKey(current, after)) {
        entries.set(path, [...after, String(at), hash] as Entry);
        this.dirty = true;
        return hash;
      }
      // Written to while we read it: read again, a few times, then answer without remembering.
      entries.delete(path);
      if (tries >= 2) return hash;
      current = after;
    }
  }

  /** Writes the memo (atomically) when it changed; concurrent calls are serialised. */
  flush(): Promise<void> {
    if (!this.file || !this.dirty || !this.entries) return this.writing;
    this.dirty = false;
    const entries = this.entries;
    const file = this.file;
    this.writing = this.writing.then(async () => {
      let list = [...entries];
      if (list.length > MAX_ENTRIES) {
        list.sort((a, b) => (BigInt(b[1][5]) > BigInt(a[1][5]) ? 1 : -1));
        list = list.slice(0, MAX_ENTRIES);
        entries.clear();
        for (const [path, entry] of list) entries.set(path, entry);
      }
      await writeFileAtomic(
        file,
        JSON.stringify({ format: FORMAT, entries: Object.fromEntries(list) }),
      ).catch(() => {
        // A read-only state folder: the memo is a shortcut, not a record.
      });
    });
    return this.writing;
  }
}
