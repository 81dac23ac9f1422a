/**
 * The example's signing key: VFW_SIGNING_KEY names a PEM key of your own (an encrypted cosign key takes its
 * password from COSIGN_PASSWORD); without it, a throwaway P-256 key is made once in `.vnfpipe/keys`
 * (mode 0600, never committed) so the example signs and attests out of the box. Its public half sits next
 * to it: `vnfpipe verify-image <ref> --key .vnfpipe/keys/vfw.pub`.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StepContext } from 'vnfpipe';

export function ensureSigningKey(ctx: StepContext): { key: string; publicKey?: string } {
  const own = ctx.env.VFW_SIGNING_KEY;
  if (own) return { key: own };
  const dir = join(ctx.stateDir, 'keys');
  const key = join(dir, 'vfw.key');
  const publicKey = join(dir, 'vfw.pub');
  if (!existsSync(key)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    writeFileSync(key, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    writeFileSync(publicKey, pair.publicKey.export({ format: 'pem', type: 'spki' }));
    ctx.log(`made a throwaway signing key in ${dir} (set VFW_SIGNING_KEY to use your own)`);
  }
  return { key, publicKey };
}
