import { execFileSync } from 'node:child_process';
import { createPublicKey, sign, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VnfpipeError } from '../../src/errors.js';
import { generateKeys, keyId, loadPrivateKey, loadPublicKey } from '../../src/trust/keys.js';

const tmp = mkdtempSync(join(tmpdir(), 'vnfpipe-trust-keys-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('signing keys', () => {
  it('round-trips a cosign encrypted key: the decrypted key signs what the public key verifies', () => {
    const keys = generateKeys('s3cret-pass');
    expect(keys.privateKeyPem).toMatch(/^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
    const body = JSON.parse(
      Buffer.from(keys.privateKeyPem.split('\n').slice(1, -2).join(''), 'base64').toString('utf8'),
    );
    expect(body.kdf).toMatchObject({ name: 'scrypt', params: { N: 32768, r: 8, p: 1 } });
    expect(body.cipher.name).toBe('nacl/secretbox');
    expect(Buffer.from(body.cipher.nonce, 'base64')).toHaveLength(24);
    expect(keys.privateKeyPem).not.toContain('s3cret-pass');

    const priv = loadPrivateKey(keys.privateKeyPem, 's3cret-pass');
    const pub = loadPublicKey(keys.publicKeyPem);
    const sig = sign('sha256', Buffer.from('payload'), priv);
    expect(verify('sha256', Buffer.from('payload'), pub, sig)).toBe(true);
    expect(keyId(priv)).toBe(keyId(pub));
  });

  it('refuses a wrong password or a missing one, without echoing it', () => {
    const keys = generateKeys('right');
    const wrong = (() => {
      try {
        loadPrivateKey(keys.privateKeyPem, 'wrong-password-xyz', 'cosign.key');
      } catch (error) {
        return error as VnfpipeError;
      }
    })();
    expect(wrong).toBeInstanceOf(VnfpipeError);
    expect(wrong?.exitCode).toBe(2);
    expect(wrong?.message).toMatch(/wrong password/);
    expect(wrong?.describe()).not.toContain('wrong-password-xyz');
    expect(() => loadPrivateKey(keys.privateKeyPem, undefined)).toThrow(/encrypted and no password/);
  });

  it('reads an EC key written by openssl genpkey (PKCS#8) and refuses an RSA one', () => {
    const ec = join(tmp, 'ec.pem');
    execFileSync(
      'openssl',
      ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', ec],
      { stdio: 'pipe' },
    );
    expect(readFileSync(ec, 'utf8')).toContain('BEGIN PRIVATE KEY');
    const key = loadPrivateKey(readFileSync(ec, 'utf8'));
    expect(createPublicKey(key).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');

    const rsa = join(tmp, 'rsa.pem');
    execFileSync(
      'openssl',
      ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', rsa],
      { stdio: 'pipe' },
    );
    expect(() => loadPrivateKey(readFileSync(rsa, 'utf8'))).toThrow(/not an ECDSA P-256 key/);
    expect(() => loadPrivateKey('not a key')).toThrow(VnfpipeError);
  });
});
