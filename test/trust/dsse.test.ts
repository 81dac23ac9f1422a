import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { pae, verifyEnvelope } from '../../src/trust/dsse.js';

describe('DSSE', () => {
  it('pre-authentication encoding matches the spec worked example', () => {
    // DSSE protocol.md: PAE("http://example.com/HelloWorld", "hello world").
    expect(pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString('utf8')).toBe(
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
    );
    // Lengths are bytes, not characters.
    expect(pae('t', Buffer.from('é')).toString('utf8')).toBe('DSSEv1 1 t 2 é');
  });

  it('verifies a signature over the PAE, and not over the bare payload or another type', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const payload = Buffer.from('{"a":1}');
    const good = sign('sha256', pae('application/vnd.in-toto+json', payload), privateKey).toString('base64');
    const bare = sign('sha256', payload, privateKey).toString('base64');
    const envelope = { payloadType: 'application/vnd.in-toto+json', payload: payload.toString('base64') };
    expect(verifyEnvelope({ ...envelope, signatures: [{ sig: good }] }, publicKey)).toBe(true);
    expect(verifyEnvelope({ ...envelope, signatures: [{ sig: bare }] }, publicKey)).toBe(false);
    expect(
      verifyEnvelope({ ...envelope, payloadType: 'text/plain', signatures: [{ sig: good }] }, publicKey),
    ).toBe(false);
  });
});
