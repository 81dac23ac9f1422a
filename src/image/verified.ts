/**
 * Verification of base blobs before they are reused. Hashing a multi-gigabyte base on every build would
 * cost more than the build, so a blob is hashed once and its file fingerprint (device, inode, size, mtime,
 * ctime) remembered: a hardlink into the target shares the inode, and any rewrite changes mtime or ctime.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VnfpipeError } from '../errors.js';
import { type Digest, DigestStream, digestAlgorithm, digestHex } from '../oci/digest.js';

function fingerprint(info: { dev: number; ino: number; size: number; mtimeMs: number; ctimeMs: number }) {
  return `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
}

async function hashFile(path: string, digest: Digest, signal?: AbortSignal): Promise<Digest> {
  const hash = new DigestStream(digestAlgorithm(digest));
  for await (const chunk of createReadStream(path, { signal })) hash.update(chunk as Buffer);
  return hash.digest();
}

export class BlobVerifier {
  /** Fingerprints verified in this process (also the only memory when there is no cache directory). */
  private readonly seen = new Set<string>();

  /** `dir`: where fingerprints of verified blobs are kept across builds (the layer cache). */
  constructor(private readonly dir?: string) {}

  /**
   * Checks that the file at `path` is `size` bytes with digest `digest`; `where` names the image it
   * belongs to in the error.
   */
  async verify(
    path: string,
    expected: { digest: Digest; size: number },
    where: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const info = await stat(path).catch((error: unknown) => {
      throw new VnfpipeError('OCI_NOT_FOUND', `blob ${expected.digest} missing`, {
        where: path,
        cause: error,
      });
    });
    if (info.size !== expected.size) {
      throw new VnfpipeError(
        'OCI_DIGEST_MISMATCH',
        `blob ${expected.digest} is ${info.size} bytes, its descriptor says ${expected.size}`,
        { where: `${where} (${path})`, hint: 'the layout is damaged: copy the image again' },
      );
    }
    const print = `${expected.digest}\0${fingerprint(info)}`;
    if (this.seen.has(print)) return;
    const memo = this.dir ? join(this.dir, digestHex(expected.digest)) : undefined;
    if (memo && (await readFile(memo, 'utf8').catch(() => '')) === print) {
      this.seen.add(print);
      return;
    }
    const actual = await hashFile(path, expected.digest, signal);
    if (actual !== expected.digest) {
      throw new VnfpipeError('OCI_DIGEST_MISMATCH', `blob ${expected.digest} has digest ${actual}`, {
        where: `${where} (${path})`,
        hint: 'the layout is damaged: copy the image again',
      });
    }
    this.seen.add(print);
    if (memo) {
      await mkdir(this.dir!, { recursive: true });
      const temp = `${memo}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(temp, print);
      await rename(temp, memo);
    }
  }
}
