/** `vnfpipe keygen | sign | attest | verify-image`: cosign-compatible keys, signatures and attestations. */
import { readFileSync, writeFileSync } from 'node:fs';
import { EXIT, VnfpipeError } from '../errors.js';
import type { ClientOptions } from '../registry/client.js';
import { PredicateType } from '../trust/attest.js';
import { readPrivateKey, readPublicKey } from '../trust/key-source.js';
import { generateKeys } from '../trust/keys.js';
import { attestReference, signReference } from '../trust/sign.js';
import { verifyImage } from '../trust/verify.js';

interface RegistryOpts {
  insecure?: boolean;
  json?: boolean;
}

function clientOptions(opts: RegistryOpts): ClientOptions {
  return opts.insecure ? { insecure: true } : {};
}

function print(opts: RegistryOpts, value: unknown, line: string): void {
  process.stdout.write(opts.json ? `${JSON.stringify(value)}\n` : `${line}\n`);
}

export async function keygenCommand(opts: { outputKeyPrefix: string; force?: boolean }): Promise<number> {
  const password = process.env.COSIGN_PASSWORD;
  if (password === undefined)
    throw new VnfpipeError('USAGE', 'set COSIGN_PASSWORD to the password that encrypts the private key');
  const keys = generateKeys(password);
  const flag = opts.force ? 'w' : 'wx';
  const write = (path: string, text: string, mode: number) => {
    try {
      writeFileSync(path, text, { flag, mode });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new VnfpipeError('USAGE', code === 'EEXIST' ? 'the file exists' : `cannot write (${code})`, {
        where: path,
        hint: code === 'EEXIST' ? 'pass --force to overwrite it' : undefined,
      });
    }
  };
  write(`${opts.outputKeyPrefix}.key`, keys.privateKeyPem, 0o600);
  write(`${opts.outputKeyPrefix}.pub`, keys.publicKeyPem, 0o644);
  process.stdout.write(
    `Private key written to ${opts.outputKeyPrefix}.key\nPublic key written to ${opts.outputKeyPrefix}.pub\n`,
  );
  return EXIT.ok;
}

export async function signCommand(
  ref: string,
  opts: RegistryOpts & { key?: string; keyless?: boolean; fulcioUrl?: string; rekorUrl?: string },
): Promise<number> {
  if (Boolean(opts.key) === Boolean(opts.keyless))
    throw new VnfpipeError('USAGE', 'give either --key or --keyless');
  if (opts.keyless) {
    const { ambientIdentityToken, signKeyless } = await import('../trust/keyless.js');
    const identityToken = await ambientIdentityToken();
    if (!identityToken)
      throw new VnfpipeError('USAGE', 'keyless signing needs an OIDC identity token', {
        hint: "set SIGSTORE_ID_TOKEN, or run in GitHub Actions with 'id-token: write'",
      });
    const signed = await signKeyless(ref, {
      identityToken,
      client: clientOptions(opts),
      ...(opts.fulcioUrl ? { fulcioURL: opts.fulcioUrl } : {}),
      ...(opts.rekorUrl ? { rekorURL: opts.rekorUrl } : {}),
    });
    print(opts, { reference: signed.reference, keyless: true }, `signed ${signed.reference} (keyless)`);
    return EXIT.ok;
  }
  const key = readPrivateKey(opts.key!);
  const signed = await signReference(ref, key, clientOptions(opts));
  print(
    opts,
    {
      reference: signed.reference,
      signatureTag: signed.tag,
      signatures: signed.count,
      bundle: signed.bundle.digest,
    },
    `signed ${signed.reference} (${signed.tag}: ${signed.count} signature${signed.count > 1 ? 's' : ''})`,
  );
  return EXIT.ok;
}

export async function attestCommand(
  ref: string,
  opts: RegistryOpts & { key: string; predicate: string; type: string },
): Promise<number> {
  const predicateType = (PredicateType as Record<string, string>)[opts.type];
  if (!predicateType)
    throw new VnfpipeError('USAGE', `unknown --type ${opts.type}`, {
      hint: `one of ${Object.keys(PredicateType).join(', ')}`,
    });
  let predicate: unknown;
  try {
    predicate = JSON.parse(readFileSync(opts.predicate, 'utf8'));
  } catch (error) {
    throw new VnfpipeError('USAGE', 'the predicate is not a readable JSON file', {
      where: opts.predicate,
      cause: error,
    });
  }
  const key = readPrivateKey(opts.key);
  const result = await attestReference(ref, predicateType, predicate, key, clientOptions(opts));
  print(
    opts,
    { reference: result.reference, predicateType, referrer: result.referrer.digest },
    `attested ${result.reference} (${predicateType})`,
  );
  return EXIT.ok;
}

export async function verifyImageCommand(
  ref: string,
  opts: RegistryOpts & {
    key?: string;
    attestation?: string[];
    certificateIdentity?: string;
    certificateOidcIssuer?: string;
    trustedRoot?: string;
  },
): Promise<number> {
  const keyless = opts.certificateIdentity !== undefined || opts.certificateOidcIssuer !== undefined;
  if (Boolean(opts.key) === keyless)
    throw new VnfpipeError(
      'USAGE',
      'give either --key or --certificate-identity with --certificate-oidc-issuer',
    );
  if (keyless && (!opts.certificateIdentity || !opts.certificateOidcIssuer || !opts.trustedRoot))
    throw new VnfpipeError(
      'USAGE',
      'keyless verification needs --certificate-identity, --certificate-oidc-issuer and --trusted-root',
    );
  const verified = await verifyImage(ref, {
    ...(keyless
      ? {
          keyless: {
            identity: opts.certificateIdentity!,
            issuer: opts.certificateOidcIssuer!,
            trustedRoot: opts.trustedRoot!,
          },
        }
      : { key: readPublicKey(opts.key!) }),
    attestations: opts.attestation ?? [],
    client: clientOptions(opts),
  });
  const attested = Object.keys(verified.attestations);
  print(
    opts,
    verified,
    `verified ${verified.reference}: ${verified.signatures} signature${verified.signatures > 1 ? 's' : ''}` +
      (attested.length ? `, attestations: ${attested.join(', ')}` : ''),
  );
  return EXIT.ok;
}
