/** Content digests (`sha256:<64 hex>`): parsing, computing (whole or streamed) and verifying. */
import { createHash, type Hash } from 'node:crypto';
import { VnfpipeError } from '../errors.js';

/** A validated `algorithm:hex` digest string. */
export type Digest = `sha256:${string}` | `sha512:${string}`;

const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && DIGEST_RE.test(value);
}

/** Validates a digest read from outside; `where` names the document it came from. */
export function parseDigest(value: unknown, where?: string): Digest {
  if (!isDigest(value)) {
    throw new VnfpipeError('OCI_INVALID', `invalid digest ${JSON.stringify(value)}`, {
      where,
      hint: 'digests look like sha256:<64 lowercase hex digits>',
    });
  }
  return value;
}

export function digestAlgorithm(digest: Digest): 'sha256' | 'sha512' {
  return digest.startsWith('sha512:') ? 'sha512' : 'sha256';
}

export function digestHex(digest: Digest): string {
  return digest.slice(digest.indexOf(':') + 1);
}

export function sha256(data: string | Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Incremental digest that also counts bytes, for hashing while streaming. */
export class DigestStream {
  private readonly hash: Hash;
  private readonly algorithm: 'sha256' | 'sha512';
  size = 0;

  constructor(algorithm: 'sha256' | 'sha512' = 'sha256') {
    this.algorithm = algorithm;
    this.hash = createHash(algorithm);
  }

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.size += chunk.length;
  }

  digest(): Digest {
    return `${this.algorithm}:${this.hash.digest('hex')}` as Digest;
  }
}

/** Digest of some bytes with the same algorithm as `expected`. */
export function digestOf(data: Uint8Array, algorithm: 'sha256' | 'sha512' = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}` as Digest;
}

/** Throws OCI_DIGEST_MISMATCH unless `data` hashes to `expected`. */
export function verifyDigest(data: Uint8Array, expected: Digest, where?: string): void {
  const actual = digestOf(data, digestAlgorithm(expected));
  if (actual !== expected) throw digestMismatch(expected, actual, where);
}

export function digestMismatch(expected: Digest, actual: Digest, where?: string): VnfpipeError {
  return new VnfpipeError('OCI_DIGEST_MISMATCH', `content has digest ${actual}, expected ${expected}`, {
    where: where ?? expected,
    hint: 'the blob is corrupt or was modified; re-fetch or rebuild it',
  });
}
