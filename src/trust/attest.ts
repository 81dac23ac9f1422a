/**
 * In-toto attestations: a statement (subject = the image digest) with a SLSA v1 provenance or CycloneDX
 * predicate, DSSE-signed into a Sigstore bundle by `@sigstore/sign`, attached to the image as a referrer.
 */
import type { KeyObject } from 'node:crypto';
import { DSSEBundleBuilder } from '@sigstore/sign';
import { VnfpipeError } from '../errors.js';
import type { Descriptor } from '../oci/descriptor.js';
import { type Digest, digestAlgorithm, digestHex } from '../oci/digest.js';
import type { RegistryClient } from '../registry/client.js';
import { attachBundle, BUNDLE_CONTENT_ANNOTATION, BUNDLE_PREDICATE_ANNOTATION, keySigner } from './bundle.js';
import { IN_TOTO_PAYLOAD_TYPE } from './dsse.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const PredicateType = {
  slsaprovenance: 'https://slsa.dev/provenance/v1',
  cyclonedx: 'https://cyclonedx.org/bom',
} as const;
export type PredicateKind = keyof typeof PredicateType;
/** vnfpipe's SLSA build type: the external parameters are the pipeline file and the source. */
export const BUILD_TYPE = 'https://github.com/vnfpipe/vnfpipe/buildtypes/pipeline/v1';

export interface Statement {
  _type: typeof STATEMENT_TYPE;
  subject: Array<{ name: string; digest: Record<string, string> }>;
  predicateType: string;
  predicate: unknown;
}

function digestSet(digest: Digest): Record<string, string> {
  return { [digestAlgorithm(digest)]: digestHex(digest) };
}

export function statement(subjectName: string, subject: Digest, predicateType: string, predicate: unknown) {
  if (predicate === null || typeof predicate !== 'object' || Array.isArray(predicate))
    throw new VnfpipeError('USAGE', 'an attestation predicate must be a JSON object');
  const out: Statement = {
    _type: STATEMENT_TYPE,
    subject: [{ name: subjectName, digest: digestSet(subject) }],
    predicateType,
    predicate,
  };
  return out;
}

export interface ProvenanceInput {
  /** `https://…` id of the build platform (a CI workflow URL, or vnfpipe's own). */
  builderId: string;
  pipeline: { path: string; digest: Digest };
  source?: { repository: string; revision?: string };
  /** The base image the build started from, by digest. */
  baseImage?: { reference: string; digest: Digest };
  /** Hashed build inputs (files, layers) as resolved dependencies. */
  inputs?: ReadonlyArray<{ name: string; digest: Digest }>;
  invocationId?: string;
  startedOn: Date;
  finishedOn: Date;
}

/** A SLSA v1 provenance predicate. */
export function slsaProvenance(input: ProvenanceInput): Record<string, unknown> {
  const externalParameters: Record<string, unknown> = {
    pipeline: { path: input.pipeline.path, digest: digestSet(input.pipeline.digest) },
  };
  const resolvedDependencies: Array<Record<string, unknown>> = [];
  if (input.source) {
    externalParameters.source = input.source;
    if (input.source.revision)
      resolvedDependencies.push({
        uri: `git+${input.source.repository}`,
        digest: { gitCommit: input.source.revision },
      });
  }
  if (input.baseImage)
    resolvedDependencies.push({
      uri: `oci://${input.baseImage.reference}`,
      name: 'base-image',
      digest: digestSet(input.baseImage.digest),
    });
  for (const dep of input.inputs ?? [])
    resolvedDependencies.push({ name: dep.name, digest: digestSet(dep.digest) });
  const metadata: Record<string, string> = {
    startedOn: input.startedOn.toISOString(),
    finishedOn: input.finishedOn.toISOString(),
  };
  if (input.invocationId) metadata.invocationId = input.invocationId;
  return {
    buildDefinition: { buildType: BUILD_TYPE, externalParameters, resolvedDependencies },
    runDetails: { builder: { id: input.builderId }, metadata },
  };
}

/** DSSE-signs a statement about `subject` and attaches it as a Sigstore bundle referrer. */
export async function attestImage(
  client: RegistryClient,
  repository: string,
  subject: Descriptor,
  predicateType: string,
  predicate: unknown,
  key: KeyObject,
): Promise<Descriptor> {
  const doc = statement(`${client.registry}/${repository}`, subject.digest, predicateType, predicate);
  const builder = new DSSEBundleBuilder({ signer: keySigner(key), witnesses: [] });
  const bundle = await builder.create({
    data: Buffer.from(JSON.stringify(doc)),
    type: IN_TOTO_PAYLOAD_TYPE,
  });
  return attachBundle(client, repository, subject, bundle, {
    [BUNDLE_CONTENT_ANNOTATION]: 'dsse-envelope',
    [BUNDLE_PREDICATE_ANNOTATION]: predicateType,
  });
}
