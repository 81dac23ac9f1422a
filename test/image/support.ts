/** Helpers for image tests: temp dirs, required tools, reading layers back. */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export function requireTool(name: string, path = name): string {
  try {
    execFileSync('sh', ['-c', `command -v ${path}`], { stdio: 'pipe' });
  } catch {
    throw new Error(`${name} is needed by this test (install the Debian package, see scripts/setup-deps.sh)`);
  }
  return path;
}

export class TempDirs {
  private readonly dirs: string[] = [];
  async make(prefix = 'vnfpipe-img-'): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }
  async cleanup(): Promise<void> {
    await Promise.all(this.dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  }
}

export interface ListedEntry {
  path: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
  uname: string;
  content?: Buffer;
}

/** Lists a gzip'd tar blob with a minimal ustar/PAX reader (independent of the writer under test). */
export function listTarGz(gz: Buffer): ListedEntry[] {
  const tar = gunzipSync(gz);
  const out: ListedEntry[] = [];
  let at = 0;
  let pax: Record<string, string> = {};
  const str = (o: number, n: number) =>
    tar
      .subarray(o, o + n)
      .toString('utf8')
      .replace(/\0.*$/s, '');
  const oct = (o: number, n: number) => Number.parseInt(str(o, n).trim() || '0', 8);
  while (at + 512 <= tar.length) {
    if (tar.subarray(at, at + 512).every((b) => b === 0)) break;
    const type = str(at + 156, 1);
    const size = oct(at + 124, 12);
    const body = tar.subarray(at + 512, at + 512 + size);
    if (type === 'x') {
      pax = {};
      for (const record of body.toString('utf8').split('\n').filter(Boolean)) {
        const kv = record.slice(record.indexOf(' ') + 1);
        pax[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
      }
    } else {
      const prefix = str(at + 345, 155);
      const name = pax.path ?? (prefix ? `${prefix}/${str(at, 100)}` : str(at, 100));
      out.push({
        path: name,
        type,
        mode: oct(at + 100, 8),
        uid: oct(at + 108, 8),
        gid: oct(at + 116, 8),
        size,
        mtime: oct(at + 136, 12),
        linkname: pax.linkpath ?? str(at + 157, 100),
        uname: str(at + 265, 32),
        content: type === '0' ? Buffer.from(body) : undefined,
      });
      pax = {};
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}
