import { describe, expect, it } from 'vitest';
import { collectRefs, outputRef, readRef, refInfo, resolveValue } from '../../src/pipeline/output.js';
import { Masker, secret } from '../../src/pipeline/secret.js';

describe('output references', () => {
  it('gives typed references to nested properties', () => {
    const out = outputRef<{ image: { digest: string } }>('build');
    const digest = out.image.digest;
    expect(refInfo(digest)).toEqual({
      step: 'build',
      path: ['image', 'digest'],
      site: expect.stringMatching(/output\.test\.ts:8:\d+$/),
    });
    expect(readRef(refInfo(digest), { image: { digest: 'sha256:ab' } })).toBe('sha256:ab');
    expect(JSON.stringify({ d: digest })).toBe('{"d":{"$output":"build.out.image.digest"}}');
  });

  it('is not thenable, so awaiting one by mistake does not hang', async () => {
    const out = outputRef<{ then: string }>('x');
    await expect(Promise.resolve(out)).resolves.toBe(out);
  });

  it('is found inside options and resolved to values and secrets', () => {
    const out = outputRef<{ digest: string }>('build');
    const options = { image: out.digest, list: [out, 'plain'], token: secret('TOKEN') };
    expect(collectRefs(options).map((r) => r.path.join('.'))).toEqual(['digest', '']);
    const seen: string[] = [];
    const resolved = resolveValue(options, {
      outputOf: () => ({ digest: 'sha256:1' }),
      env: { TOKEN: 'hunter2-token' },
      onSecret: (value) => seen.push(value),
    });
    expect(resolved).toEqual({
      image: 'sha256:1',
      list: [{ digest: 'sha256:1' }, 'plain'],
      token: 'hunter2-token',
    });
    expect(seen).toEqual(['hunter2-token']);
  });

  it('fails clearly when a property does not exist', () => {
    const ref = outputRef<{ digest: string }>('build') as unknown as { nope: unknown };
    expect(() => readRef(refInfo(ref.nope as never), { digest: 'x' }, 'push')).toThrow(
      "step 'push' uses build.out.nope, but the output of step 'build' has no field 'nope'",
    );
  });
});

describe('Masker', () => {
  it('masks values and their encoded forms, longest first', () => {
    const masker = new Masker();
    masker.add('s3cr3t');
    masker.add('s3cr3t-and-more');
    expect(masker.mask('a s3cr3t-and-more b s3cr3t c')).toBe('a *** b *** c');
    expect(masker.mask(Buffer.from('s3cr3t').toString('base64'))).toBe('***');
    expect(masker.maskDeep({ a: ['x s3cr3t'], n: 1 })).toEqual({ a: ['x ***'], n: 1 });
  });

  it('serialises a secret reference as its name only', () => {
    expect(JSON.stringify(secret('REGISTRY_TOKEN'))).toBe('"secret(REGISTRY_TOKEN)"');
  });
});
