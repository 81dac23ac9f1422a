/** Layer file names are bytes: decoding must keep distinct names distinct. */
import { describe, expect, it } from 'vitest';
import { decodeName, displayName } from '../../src/scan/image/names.ts';

describe('decodeName', () => {
  it('keeps valid UTF-8 as it is', () => {
    for (const name of ['usr/bin/ls', 'opt/café', 'srv/日本語', 'x/\u{1f600}', 'lit\ufffderal'])
      expect(decodeName(Buffer.from(name, 'utf8'))).toBe(name);
  });

  it('is injective on bytes that are not UTF-8 (stray, overlong, surrogate, truncated)', () => {
    const inputs = [
      [0x61, 0xfe],
      [0x61, 0xff],
      [0x61, 0xef, 0xbf, 0xbd], // U+FFFD itself, valid
      [0x61, 0xc0, 0xaf], // overlong "/"
      [0x61, 0xed, 0xa0, 0x80], // encoded surrogate
      [0x61, 0xe2, 0x82], // truncated sequence
      [0x61, 0xe2],
    ].map((bytes) => Buffer.from(bytes));
    const decoded = inputs.map(decodeName);
    expect(new Set(decoded).size).toBe(inputs.length);
    expect(displayName(decoded[0]!)).toBe('a\\xfe');
    expect(displayName(decoded[3]!)).toBe('a\\xc0\\xaf');
    // An overlong slash must not become a path separator.
    expect(decoded[3]).not.toContain('/');
  });
});
