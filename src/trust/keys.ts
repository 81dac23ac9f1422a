/**
 * Signing keys: ECDSA P-256 as PEM PKCS#8 (what `openssl genpkey` writes) or in cosign's encrypted format
 * (`ENCRYPTED SIGSTORE PRIVATE KEY`: scrypt-derived key, NaCl secretbox around the PKCS#8 DER), and SPKI
 * PEM public keys. Passwords and key bytes never appear in error messages.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  scryptSync,
} from 'node:crypto';
import { xsalsa20poly1305 } from '@noble/ciphers/salsa.js';
import { VnfpipeError } from '../errors.js';

const ENCRYPTED_LABELS = ['ENCRYPTED SIGSTORE PRIVATE KEY', 'ENCRYPTED COSIGN PRIVATE KEY'];
/**
 * go-securesystemslib `encrypted` parameters (N=2^15, r=8, p=1; 32-byte salt, 24-byte nonce): the "legacy" set
 * that every cosign release accepts. Newer keys may use N up to 2^17 (OWASP), which we read too.
 */
const SCRYPT = { N: 32768, r: 8, p: 1 };

interface EncryptedKey {
  kdf: { name: string; params: { N: number; r: number; p: number }; salt: string };
  cipher: { name: string; nonce: string };
  ciphertext: string;
}

function bad(message: string, where?: string, hint?: string): VnfpipeError {
  return new VnfpipeError('USAGE', message, { where, hint });
}

function pemBlock(pem: string): { label: string; der: Buffer } | undefined {
  const match = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(pem);
  if (!match) return undefined;
  return { label: match[1]!, der: Buffer.from(match[2]!.replace(/\s+/g, ''), 'base64') };
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function deriveKey(password: string, salt: Buffer, params: { N: number; r: number; p: number }): Buffer {
  // scrypt needs 128·N·r bytes; Node's default cap (32 MiB) is too small for cosign's parameters.
  const maxmem = 256 * params.N * params.r;
  return scryptSync(Buffer.from(password, 'utf8'), salt, 32, { ...params, maxmem });
}

function requireP256(key: KeyObject, where?: string): KeyObject {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw bad('the key is not an ECDSA P-256 key', where, 'create one with `vnfpipe keygen`');
  return key;
}

/** Reads a private key: PKCS#8/SEC1 PEM, or cosign's encrypted format (needs `password`). */
export function loadPrivateKey(text: string, password?: string, where?: string): KeyObject {
  const block = pemBlock(text);
  if (!block) throw bad('not a PEM private key', where);
  if (ENCRYPTED_LABELS.includes(block.label)) {
    if (password === undefined)
      throw bad('the key is encrypted and no password was given', where, 'set COSIGN_PASSWORD');
    let doc: EncryptedKey;
    try {
      doc = JSON.parse(block.der.toString('utf8')) as EncryptedKey;
    } catch {
      throw bad('the encrypted key is not cosign JSON', where);
    }
    if (doc.kdf?.name !== 'scrypt' || doc.cipher?.name !== 'nacl/secretbox')
      throw bad(`unsupported key encryption ${doc.kdf?.name}/${doc.cipher?.name}`, where);
    const { N, r, p } = doc.kdf.params;
    if (![N, r, p].every(Number.isSafeInteger) || N > 1 << 17 || r > 16 || p > 4)
      throw bad('the encrypted key has out-of-range scrypt parameters', where);
    const box = xsalsa20poly1305(
      deriveKey(password, Buffer.from(doc.kdf.salt, 'base64'), { N, r, p }),
      Buffer.from(doc.cipher.nonce, 'base64'),
    );
    let der: Uint8Array;
    try {
      der = box.decrypt(Buffer.from(doc.ciphertext, 'base64'));
    } catch {
      throw bad('cannot decrypt the private key: wrong password?', where);
    }
    return requireP256(createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' }), where);
  }
  try {
    return requireP256(createPrivateKey(text), where);
  } catch (error) {
    if (error instanceof VnfpipeError) throw error;
    throw bad('cannot read the private key (encrypted PKCS#8 or not PEM?)', where);
  }
}

/** Reads a PEM public key (SPKI), or derives it from a certificate. */
export function loadPublicKey(text: string, where?: string): KeyObject {
  try {
    return requireP256(createPublicKey(text), where);
  } catch (error) {
    if (error instanceof VnfpipeError) throw error;
    throw bad('cannot read the public key (expected a PEM public key)', where);
  }
}

/** Cosign's encrypted private key PEM for a key and password. */
export function encryptPrivateKey(key: KeyObject, password: string): string {
  const salt = randomBytes(32);
  const nonce = randomBytes(24);
  const der = key.export({ format: 'der', type: 'pkcs8' });
  const ciphertext = xsalsa20poly1305(deriveKey(password, salt, SCRYPT), nonce).encrypt(der);
  const doc: EncryptedKey = {
    kdf: { name: 'scrypt', params: SCRYPT, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(ciphertext).toString('base64'),
  };
  return pem(ENCRYPTED_LABELS[0]!, Buffer.from(JSON.stringify(doc)));
}

export interface GeneratedKeys {
  /** Cosign's encrypted format. */
  privateKeyPem: string;
  publicKeyPem: string;
}

/** A new P-256 key pair; the private half encrypted with `password` the way cosign does. */
export function generateKeys(password: string): GeneratedKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    privateKeyPem: encryptPrivateKey(privateKey, password),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

/** SHA-256 of the SPKI DER: a stable key id (the Sigstore bundle's public-key hint). */
export function keyId(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256')
    .update(pub.export({ format: 'der', type: 'spki' }))
    .digest('hex');
}
