/**
 * File names in layers are bytes, not text. Decoding them as UTF-8 with replacement characters would map
 * different names (`libc6\xfe`, `libc6\xff`) to one string, so one of the files would vanish from the scan.
 * Names are decoded injectively instead: valid UTF-8 as itself, every other byte as a lone surrogate
 * U+DC80..U+DCFF (Python's "surrogateescape"), which valid UTF-8 can never produce.
 */

const ESCAPE_BASE = 0xdc00;

/** Decodes a name's bytes to a string; distinct byte strings give distinct strings. */
export function decodeName(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  // Fast path: the bytes were valid UTF-8 (re-encoding gives them back exactly).
  if (Buffer.from(text, 'utf8').equals(bytes)) return text;
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const length = sequenceLength(bytes, i);
    if (length === 0) {
      out += String.fromCharCode(ESCAPE_BASE + bytes[i]!);
      i += 1;
    } else {
      out += bytes.toString('utf8', i, i + length);
      i += length;
    }
  }
  return out;
}

/** Length of the well-formed UTF-8 sequence at `i` (RFC 3629: no overlongs, surrogates or > U+10FFFF), or 0. */
function sequenceLength(b: Buffer, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c >= 0xe1 && c <= 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/** A name for messages and reports: escaped bytes shown as `\xNN`. */
export function displayName(name: string): string {
  return name.replace(/[\udc80-\udcff]/g, (ch) => `\\x${(ch.charCodeAt(0) - ESCAPE_BASE).toString(16)}`);
}
