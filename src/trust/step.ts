/**
 * The `sign` and `attest` steps (stage `push`, after `push`): sign the pushed image by digest, and attach its
 * SLSA provenance and CycloneDX SBOM as DSSE-signed attestations. Cheap to import: engines load on run.
 */
import { VnfpipeError } from '../errors.js';
import type { ImageRef, ScanReport } from '../pipeline/kinds.js';
import type {
  CacheInputContext,
  CacheValidContext,
  Input,
  StepContext,
  StepSpec,
} from '../pipeline/model.js';
import { isSecretRef, type SecretRef } from '../pipeline/secret.js';
import { manifestsProblem, splitRepository } from '../registry/check.js';
import { builderIdOf, sourceRevision } from './revision.js';

export interface TrustStepKey {
  /** A PEM private key: a path relative to the project, or a secret holding the PEM text. */
  key: string | SecretRef;
  /** Password of an encrypted (cosign) key; default: the COSIGN_PASSWORD variable. */
  password?: SecretRef;
  /** Registry credentials (`user:password` or a token); default: VNFPIPE_REGISTRY_*, then docker config. */
  auth?: SecretRef;
  insecure?: boolean;
}

export interface SignStepOptions extends Partial<TrustStepKey> {
  /** The pushed image (`push` step output) or a registry reference. */
  image: Input<ImageRef> | Input<string>;
  /**
   * Sign keyless instead of with `key`: a Fulcio certificate for the CI's OIDC identity (GitHub Actions'
   * `id-token: write`, which the emitted workflow grants to this job only, or `SIGSTORE_ID_TOKEN`), logged
   * in Rekor. URLs default to the public Sigstore instance.
   */
  keyless?: boolean | { fulcioURL?: string; rekorURL?: string };
}

export interface SignedImageRef extends ImageRef {
  /** The cosign signature tag, `sha256-<hex>.sig`. */
  signatureTag: string;
  /** The digest of the signature manifest the tag named after signing (key signing only). */
  signature?: string;
  /** The digest of the Sigstore bundle referrer carrying the same signature (key signing only). */
  bundle?: string;
}

export interface AttestStepOptions extends TrustStepKey {
  image: Input<ImageRef> | Input<string>;
  /** Attach SLSA v1 provenance (default true). */
  provenance?: boolean | { builderId?: string; materials?: string[] };
  /** The CycloneDX SBOM: a `scan` step's output (its CycloneDX file) or a path. */
  sbom?: Input<ScanReport> | Input<string>;
}

export interface AttestedImage extends ImageRef {
  attestations: Array<{ predicateType: string; referrer: string }>;
}

interface Resolved extends Omit<TrustStepKey, 'key' | 'password' | 'auth'> {
  image: ImageRef | string;
  key: string;
  password?: string;
  auth?: string;
}

function validateCommon(kind: string, opts: { image?: unknown; key?: unknown } | undefined): void {
  if (opts?.image === undefined || opts.image === null)
    throw new VnfpipeError('PIPELINE_INVALID', `${kind}: 'image' is required (a push step's output)`);
  if (opts.key === undefined || opts.key === '')
    throw new VnfpipeError('PIPELINE_INVALID', `${kind}: 'key' is required (a key file or a secret)`);
}

async function target(ctx: StepContext, opts: Resolved) {
  const [{ parseRegistryReference }, { credentialsFromString }] = await Promise.all([
    import('../oci/reference.js'),
    import('../registry/auth/credentials.js'),
  ]);
  if (opts.auth) ctx.addSecret(opts.auth);
  const image = typeof opts.image === 'string' ? { ref: opts.image, digest: '' } : opts.image;
  const parsed = parseRegistryReference(image.ref);
  const digest = image.digest || parsed.digest;
  // Sign what was pushed, by digest, never whatever the tag points at now.
  const ref = `${parsed.registry}/${parsed.repository}${digest ? `@${digest}` : `:${parsed.tag ?? 'latest'}`}`;
  const client = {
    env: ctx.env,
    signal: ctx.signal,
    ...(opts.insecure ? { insecure: true } : {}),
    ...(opts.auth ? { credentials: credentialsFromString(opts.auth) } : {}),
  };
  return { ref, client };
}

async function signKeylessStep(
  ctx: StepContext,
  opts: Resolved,
  keyless: true | { fulcioURL?: string; rekorURL?: string },
): Promise<SignedImageRef> {
  const { ref, client } = await target(ctx, opts);
  const { ambientIdentityToken, signKeyless } = await import('./keyless.js');
  const identityToken = await ambientIdentityToken(ctx.env);
  if (!identityToken)
    throw new VnfpipeError('TRUST_SIGN_FAILED', 'sign: keyless signing needs an OIDC identity token', {
      hint: "on GitHub Actions grant the job 'id-token: write'; elsewhere set SIGSTORE_ID_TOKEN",
    });
  ctx.addSecret(identityToken);
  const urls = keyless === true ? {} : keyless;
  const signed = await signKeyless(ref, {
    identityToken,
    client,
    ...(urls.fulcioURL ? { fulcioURL: urls.fulcioURL } : {}),
    ...(urls.rekorURL ? { rekorURL: urls.rekorURL } : {}),
  });
  const { signatureTag } = await import('./cosign.js');
  ctx.log(`signed ${signed.reference} keyless`);
  return { ref: signed.reference, digest: signed.digest, signatureTag: signatureTag(signed.digest) };
}

async function prepare(ctx: StepContext, opts: Resolved) {
  const [{ readPrivateKey }, { resolve }] = await Promise.all([
    import('./key-source.js'),
    import('node:path'),
  ]);
  if (opts.password) ctx.addSecret(opts.password);
  // A resolved secret is the PEM text itself; a plain string is a file.
  const isPem = opts.key.includes('-----BEGIN');
  if (isPem) ctx.addSecret(opts.key);
  const env = { ...ctx.env, ...(isPem ? { VNFPIPE_SIGNING_KEY: opts.key } : {}) };
  const key = readPrivateKey(isPem ? 'env://VNFPIPE_SIGNING_KEY' : resolve(ctx.cwd, opts.key), {
    env,
    ...(opts.password !== undefined ? { password: opts.password } : {}),
  });
  return { key, ...(await target(ctx, opts)) };
}

/** An image given by digest (a push step's output, or `host/repo@sha256:…`): only those are cached. */
function pinnedImage(image: ImageRef | string): boolean {
  const digest = typeof image === 'string' ? image.split('@')[1] : image.digest;
  return /^sha256:[0-9a-f]{64}$/.test(digest ?? '');
}

/**
 * The signing key's part of the fingerprint: a key file is an input file (its content hashed), a key given
 * as a secret is a value (hashed: the cache keeps no key). Under `vnfpipe plan` a secret is unknown.
 */
async function keyInputs(
  declared: string | SecretRef | undefined,
  resolved: Resolved,
  ctx: CacheInputContext,
): Promise<{ files: string[]; values: Record<string, unknown> } | undefined> {
  if (!pinnedImage(resolved.image) || typeof resolved.key !== 'string') return undefined;
  if (isSecretRef(declared))
    return { files: [], values: { 'signing key': ctx.secrets ? `key:${resolved.key}` : undefined } };
  // PEM text written into the pipeline itself is part of the options already.
  if (resolved.key.includes('-----BEGIN')) return { files: [], values: {} };
  return { files: [resolved.key], values: {} };
}

/** Why recorded registry artifacts no longer hold (one HEAD each, with the credentials the step uses). */
async function manifestsStillThere(
  ctx: CacheValidContext,
  opts: Resolved,
  subjectRef: string,
  expected: Array<{ reference: string; digest: string; what: string }>,
): Promise<string | undefined> {
  const where = splitRepository(subjectRef);
  if (!where) return 'the recorded output names no registry repository';
  return manifestsProblem(ctx, where.registry, where.repository, expected, {
    ...(opts.insecure ? { insecure: true } : {}),
    ...(opts.auth
      ? { credentials: (await import('../registry/auth/credentials.js')).credentialsFromString(opts.auth) }
      : {}),
  });
}

export function sign(options: SignStepOptions): StepSpec<SignedImageRef, SignStepOptions> {
  return {
    kind: 'sign',
    stage: 'push',
    options,
    validate(opts) {
      if (opts?.keyless) {
        if (opts.key !== undefined)
          throw new VnfpipeError('PIPELINE_INVALID', "sign: give either 'key' or 'keyless', not both");
        validateCommon('sign', { image: opts.image, key: 'keyless' });
      } else validateCommon('sign', opts);
    },
    // Key signing is cached by the image's digest, the options and the key's content (its hash); the result
    // is reused while the registry's signature tag still names the signature manifest made then (another
    // signer adding theirs changes it: this key then signs again) and the bundle referrer is there.
    // Keyless signatures are made anew each time (a fresh certificate for the run's identity).
    cacheInputs: async (resolved, ctx) =>
      resolved.keyless ? undefined : keyInputs(options.key, resolved as unknown as Resolved, ctx),
    cacheValid: async (output, resolved, ctx) => {
      if (!output?.signature || !output.bundle) return 'the recorded signature predates this check';
      return manifestsStillThere(ctx, resolved as unknown as Resolved, output.ref, [
        { reference: output.signatureTag, digest: output.signature, what: 'signature tag' },
        { reference: output.bundle, digest: output.bundle, what: 'signature bundle' },
      ]);
    },
    cacheValidRemote: 'the registry still has the signature tag and bundle made then',
    async run(ctx, resolved) {
      if (resolved.keyless) return signKeylessStep(ctx, resolved as unknown as Resolved, resolved.keyless);
      const { key, ref, client } = await prepare(ctx, resolved as unknown as Resolved);
      const { signReference } = await import('./sign.js');
      const signed = await signReference(ref, key, client);
      ctx.log(`signed ${signed.reference} (${signed.tag}: ${signed.count} signature(s))`);
      return {
        ref: signed.reference,
        digest: signed.reference.split('@')[1]!,
        signatureTag: signed.tag,
        signature: signed.digest,
        bundle: signed.bundle.digest,
      };
    },
  };
}

export function attest(options: AttestStepOptions): StepSpec<AttestedImage, AttestStepOptions> {
  return {
    kind: 'attest',
    stage: 'push',
    options,
    validate(opts) {
      validateCommon('attest', opts);
      if (opts.provenance === false && opts.sbom === undefined)
        throw new VnfpipeError(
          'PIPELINE_INVALID',
          'attest: nothing to attest (provenance: false and no sbom)',
        );
    },
    // Cached by the image's digest, the options, the key's content (its hash), the SBOM file, and what the
    // provenance says of the build (pipeline file and materials by content, source revision, builder id);
    // the run's times and id stay those of the run that attested. Reused while the registry still has each
    // attestation referrer.
    cacheInputs: async (resolved, ctx) => {
      const opts = resolved as unknown as Resolved & Omit<AttestStepOptions, keyof TrustStepKey | 'image'>;
      const inputs = await keyInputs(options.key, opts, ctx);
      if (!inputs) return undefined;
      if (opts.sbom !== undefined) {
        const sbom = opts.sbom as ScanReport | string;
        inputs.files.push(...(typeof sbom === 'string' ? [sbom] : sbom.files));
      }
      if (opts.provenance !== false) {
        const settings = typeof opts.provenance === 'object' ? opts.provenance : {};
        inputs.files.push(ctx.file ?? 'vnfpipe.config.ts', ...(settings.materials ?? []));
        inputs.values = {
          ...inputs.values,
          'source revision': (await sourceRevision(ctx.cwd, ctx.env)) ?? null,
          'builder id': settings.builderId ?? builderIdOf(ctx.env),
        };
      }
      return inputs;
    },
    cacheValid: async (output, resolved, ctx) => {
      if (!output?.attestations?.length) return 'the recorded attestations are missing';
      return manifestsStillThere(
        ctx,
        resolved as unknown as Resolved,
        output.ref,
        output.attestations.map((a) => ({
          reference: a.referrer,
          digest: a.referrer,
          what: `attestation (${a.predicateType.split('/').slice(-2).join('/')})`,
        })),
      );
    },
    cacheValidRemote: 'the registry still has each attestation made then',
    async run(ctx, resolved) {
      const opts = resolved as unknown as Resolved & Omit<AttestStepOptions, keyof TrustStepKey | 'image'>;
      const { key, ref, client } = await prepare(ctx, opts);
      const [{ attestReference, resolveForAttest }, attestMod, prov, fs, path] = await Promise.all([
        import('./sign.js'),
        import('./attest.js'),
        import('./provenance.js'),
        import('node:fs/promises'),
        import('node:path'),
      ]);
      const { registryClient, subject } = await resolveForAttest(ref, client);
      const attestations: AttestedImage['attestations'] = [];
      try {
        if (opts.provenance !== false) {
          const settings = typeof opts.provenance === 'object' ? opts.provenance : {};
          const facts = await prov.runFacts(ctx);
          const pipelinePath = facts.file ?? 'vnfpipe.config.ts';
          const pipelineDigest = await (await import('../pipeline/hash.js'))
            .hashFile(path.resolve(ctx.cwd, pipelinePath))
            .catch((error: NodeJS.ErrnoException) => {
              throw new VnfpipeError('USAGE', `attest: cannot read the pipeline file (${error.code})`, {
                where: pipelinePath,
              });
            });
          const source = prov.sourceOf(ctx.cwd, ctx.env);
          const baseImage = await prov.baseImageOf(registryClient, subject.repository, subject.digest);
          const predicate = attestMod.slsaProvenance({
            builderId: settings.builderId ?? prov.builderIdOf(ctx.env),
            pipeline: { path: pipelinePath, digest: `sha256:${pipelineDigest}` },
            ...(source ? { source } : {}),
            ...(baseImage ? { baseImage } : {}),
            inputs: await prov.hashedInputs(settings.materials ?? [], ctx.cwd),
            invocationId: ctx.runId,
            startedOn: facts.startedOn ?? new Date(),
            finishedOn: new Date(),
          });
          const done = await attestReference(
            ref,
            attestMod.PredicateType.slsaprovenance,
            predicate,
            key,
            client,
          );
          attestations.push({
            predicateType: attestMod.PredicateType.slsaprovenance,
            referrer: done.referrer.digest,
          });
        }
        if (opts.sbom !== undefined) {
          const bom = await readSbom(opts.sbom as ScanReport | string, ctx.cwd, fs.readFile, path.resolve);
          const done = await attestReference(ref, attestMod.PredicateType.cyclonedx, bom, key, client);
          attestations.push({
            predicateType: attestMod.PredicateType.cyclonedx,
            referrer: done.referrer.digest,
          });
        }
      } finally {
        registryClient.close();
      }
      for (const a of attestations) ctx.log(`attested ${ref}: ${a.predicateType}`);
      return {
        ref: `${subject.registry}/${subject.repository}@${subject.digest}`,
        digest: subject.digest,
        attestations,
      };
    },
  };
}

/** The CycloneDX document: the first of a scan report's files that is one, or the file given. */
async function readSbom(
  sbom: ScanReport | string,
  cwd: string,
  readFile: (path: string, encoding: 'utf8') => Promise<string>,
  resolvePath: (...parts: string[]) => string,
): Promise<unknown> {
  const candidates = typeof sbom === 'string' ? [sbom] : sbom.files;
  for (const file of candidates) {
    const text = await readFile(resolvePath(cwd, file), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    try {
      const doc = JSON.parse(text) as { bomFormat?: unknown };
      if (doc?.bomFormat === 'CycloneDX') return doc;
    } catch {
      // Not JSON (a SARIF or SPDX tag-value report): look further.
    }
  }
  throw new VnfpipeError('USAGE', 'attest: no CycloneDX SBOM among the given files', {
    where: candidates.join(', ') || 'sbom',
    hint: "give the scan step sbom: { format: 'cyclonedx', path: … }",
  });
}
