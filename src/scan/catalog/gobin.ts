/**
 * Go binaries: the build info the Go linker embeds (since Go 1.18 with inline strings) after the
 * `\xff Go buildinf:` magic — the Go version, the main module and every dependency module with its version.
 * Found while the layer streams by, without keeping the binary.
 */
import type { BodySink } from '../image/tar.js';
import type { Package } from '../model.js';
import { purl } from '../purl.js';

const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const ELF = Buffer.from('\x7fELF', 'latin1');
/** Bytes kept after the magic: the 32-byte header and both strings (module lists are rarely above this). */
const KEEP = 256 * 1024;

export interface GoBuildInfo {
  goVersion: string;
  main?: { path: string; version: string };
  deps: Array<{ path: string; version: string }>;
}

function varint(buf: Buffer, pos: number): [number, number] | undefined {
  let value = 0;
  let shift = 0;
  for (let i = pos; i < buf.length && i < pos + 5; i++) {
    const b = buf[i]!;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [value, i + 1];
    shift += 7;
  }
  return undefined;
}

/** Parses the bytes starting at the magic. Returns undefined for pre-1.18 (pointer) layouts. */
export function parseGoBuildInfo(data: Buffer): GoBuildInfo | undefined {
  if (data.length < 33 || !data.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const flags = data[15]!;
  if ((flags & 0x2) === 0) return undefined;
  const v = varint(data, 32);
  if (!v || v[1] + v[0] > data.length) return undefined;
  const goVersion = data.toString('utf8', v[1], v[1] + v[0]);
  const m = varint(data, v[1] + v[0]);
  if (!m || m[1] + m[0] > data.length) return undefined;
  let modinfo = data.toString('latin1', m[1], m[1] + m[0]);
  // The module info is wrapped in 16-byte sentinels.
  if (modinfo.length >= 33 && modinfo[modinfo.length - 17] === '\n') modinfo = modinfo.slice(16, -16);
  const info: GoBuildInfo = { goVersion, deps: [] };
  let last: { path: string; version: string } | undefined;
  for (const line of Buffer.from(modinfo, 'latin1').toString('utf8').split('\n')) {
    const f = line.split('\t');
    if (f[0] === 'mod' && f[1]) {
      last = { path: f[1], version: f[2] || '(devel)' };
      info.main = last;
    } else if (f[0] === 'dep' && f[1] && f[2]) {
      last = { path: f[1], version: f[2] };
      info.deps.push(last);
    } else if (f[0] === '=>' && f[1] && f[2] && last) {
      // A replacement: the code that was built is the replacement's.
      last.path = f[1];
      last.version = f[2];
    }
  }
  return info;
}

/** A body sink that looks for the build info in an ELF file and hands it over at the end (or says it cannot). */
export function goBuildInfoSink(done: (info: GoBuildInfo) => void, unreadable: () => void): BodySink {
  let head = Buffer.alloc(0);
  let state: 'head' | 'search' | 'keep' | 'stop' = 'head';
  let carry = Buffer.alloc(0);
  let kept: Buffer[] = [];
  let keptBytes = 0;
  const keep = (chunk: Buffer) => {
    const part = chunk.subarray(0, KEEP - keptBytes);
    kept.push(Buffer.from(part));
    keptBytes += part.length;
    if (keptBytes >= KEEP) state = 'stop';
  };
  /**
   * The first real header in `buf`: the magic followed by a pointer size of 4 or 8. Programs that read build
   * info (debug/buildinfo) carry the magic as a string constant too; those copies are skipped. A copy whose
   * pointer-size byte is not in `buf` yet is left for the next chunk (it stays in the carried tail).
   */
  const find = (buf: Buffer): number => {
    for (let at = buf.indexOf(MAGIC); at !== -1; at = buf.indexOf(MAGIC, at + 1)) {
      const ptrSize = buf[at + MAGIC.length];
      if (ptrSize === 4 || ptrSize === 8) return at;
    }
    return -1;
  };
  const search = (chunk: Buffer) => {
    // Only the bytes around a chunk boundary are copied; the chunk itself is searched in place.
    if (carry.length) {
      const joint = Buffer.concat([carry, chunk.subarray(0, MAGIC.length + 1)]);
      const j = find(joint);
      if (j !== -1 && j < carry.length) {
        state = 'keep';
        keep(joint.subarray(j, carry.length));
        keep(chunk);
        return;
      }
    }
    const at = find(chunk);
    if (at !== -1) {
      state = 'keep';
      keep(chunk.subarray(at));
      return;
    }
    const tail = chunk.length >= MAGIC.length ? chunk : Buffer.concat([carry, chunk]);
    carry = Buffer.from(tail.subarray(Math.max(0, tail.length - MAGIC.length)));
  };
  return {
    data(chunk) {
      if (state === 'stop') return;
      if (state === 'head') {
        head = Buffer.concat([head, chunk]);
        if (head.length < 4) return;
        if (!head.subarray(0, 4).equals(ELF)) {
          state = 'stop';
          return;
        }
        state = 'search';
        chunk = head;
      }
      if (state === 'search') search(chunk);
      else if (state === 'keep') keep(chunk);
    },
    end() {
      if (kept.length === 0) return;
      const info = parseGoBuildInfo(Buffer.concat(kept));
      kept = [];
      // The magic is there but the layout is the pre-1.18 one (pointers into the binary): a Go binary whose
      // modules we cannot list.
      if (info) done(info);
      else unreadable();
    },
  };
}

export function goPackages(info: GoBuildInfo, path: string, layer: number, layerDigest: string): Package[] {
  const make = (name: string, version: string): Package => ({
    type: 'golang',
    name,
    version,
    // Module paths split into purl namespace and name at the last slash.
    purl: purl(
      'golang',
      name.includes('/') ? name.slice(0, name.lastIndexOf('/')) : undefined,
      name.slice(name.lastIndexOf('/') + 1),
      version,
    ),
    foundIn: path,
    layer,
    layerDigest,
  });
  const out = [make('stdlib', info.goVersion.replace(/^go/, 'v').replace(/ .*$/, ''))];
  if (info.main && info.main.version !== '(devel)') out.push(make(info.main.path, info.main.version));
  for (const dep of info.deps) out.push(make(dep.path, dep.version));
  return out;
}
