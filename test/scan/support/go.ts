/** Go build info blobs as the Go linker writes them, for cataloger tests. */

/** Go build info as the linker writes it (Go ≥ 1.18: inline, varint-prefixed strings). */
export function goBuildInfoBlob(goVersion: string, modinfo: string): Buffer {
  const varint = (n: number) => {
    const out: number[] = [];
    while (n >= 0x80) {
      out.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out.push(n);
    return Buffer.from(out);
  };
  const header = Buffer.alloc(32);
  header.write('\xff Go buildinf:', 0, 'latin1');
  header[14] = 8;
  header[15] = 2;
  const sentinel = Buffer.alloc(16, 0x30);
  const mod = Buffer.concat([sentinel, Buffer.from(modinfo), sentinel]);
  return Buffer.concat([header, varint(goVersion.length), Buffer.from(goVersion), varint(mod.length), mod]);
}

export function fakeGoBinary(goVersion: string, modinfo: string): Buffer {
  // An ELF header, filler, and the build info at some offset well past the first chunk boundary.
  return Buffer.concat([
    Buffer.from('\x7fELF\x02\x01\x01', 'latin1'),
    Buffer.alloc(70_000, 0x90),
    goBuildInfoBlob(goVersion, modinfo),
    Buffer.alloc(5000),
  ]);
}
