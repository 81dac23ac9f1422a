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

export async function signCommand(ref: string, opts: RegistryOpts & { key: string }): Promise<number> {
  const key = readPrivateKey(opts.key);
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
  opts: RegistryOpts & { key: string; attestation?: string[] },
): Promise<number> {
  const key = readPublicKey(opts.key);
  const verified = await verifyImage(ref, {
    key,
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
