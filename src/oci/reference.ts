/**
 * Image references as users write them: docker-style `registry/repo:tag@sha256:…` (docker.io and library/
 * defaults) and skopeo-style `oci:<dir>[:ref]` for OCI image layouts on disk.
 */
import { VnfpipeError } from '../errors.js';
import { type Digest, isDigest } from './digest.js';

export const DEFAULT_REGISTRY = 'docker.io';
export const DEFAULT_TAG = 'latest';

export interface RegistryReference {
  transport: 'registry';
  /** Host[:port], e.g. `docker.io`, `localhost:5000`. */
  registry: string;
  /** Repository path, e.g. `library/alpine`. */
  repository: string;
  /** Set when given, or `latest` when neither tag nor digest is. */
  tag?: string;
  digest?: Digest;
}

export interface OciLayoutReference {
  transport: 'oci';
  /** The layout directory as written (relative paths stay relative). */
  dir: string;
  /** The `org.opencontainers.image.ref.name` inside the layout; undefined means "the only image". */
  ref?: string;
}

export type ImageReference = RegistryReference | OciLayoutReference;

const REPO_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const HOST = /^(?:localhost|[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*|\[[0-9a-fA-F:]+\])(?::\d+)?$/;
/** OCI layout ref names: the spec's grammar, loosely (letters, digits, separators). */
const LAYOUT_REF = /^[A-Za-z0-9_.\-:/+@]+$/;

function bad(text: string, why: string): VnfpipeError {
  return new VnfpipeError('USAGE', `invalid image reference ${JSON.stringify(text)}: ${why}`, {
    hint: 'write registry/repo:tag, repo@sha256:<hex>, or oci:<dir>[:ref]',
  });
}

/** Parses `oci:<dir>[:ref]` (the dir may not contain ':'; the ref is everything after it, like skopeo). */
export function parseOciLayoutReference(text: string): OciLayoutReference {
  if (!text.startsWith('oci:')) throw bad(text, 'an OCI layout reference starts with oci:');
  const rest = text.slice(4);
  const colon = rest.indexOf(':');
  const dir = colon === -1 ? rest : rest.slice(0, colon);
  const ref = colon === -1 ? undefined : rest.slice(colon + 1);
  if (!dir) throw bad(text, 'the layout directory is empty');
  if (ref !== undefined && (ref === '' || !LAYOUT_REF.test(ref)))
    throw bad(text, `invalid ref name ${JSON.stringify(ref)}`);
  return ref === undefined ? { transport: 'oci', dir } : { transport: 'oci', dir, ref };
}

/** Parses a registry reference with docker's defaults (`alpine` → `docker.io/library/alpine:latest`). */
export function parseRegistryReference(text: string): RegistryReference {
  let rest = text.startsWith('docker://') ? text.slice('docker://'.length) : text;
  if (!rest) throw bad(text, 'empty');
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) throw bad(text, `invalid digest ${JSON.stringify(d)}`);
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.indexOf(':', lastSlash + 1);
  if (colon !== -1) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(text, `invalid tag ${JSON.stringify(tag)}`);
  }
  const parts = rest.split('/');
  let registry = DEFAULT_REGISTRY;
  const first = parts[0] ?? '';
  // Like docker: the first component is a host when it has a dot or port, or is localhost.
  if (
    parts.length > 1 &&
    (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))
  ) {
    if (!HOST.test(first)) throw bad(text, `invalid registry host ${JSON.stringify(first)}`);
    registry = first;
    parts.shift();
  }
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DEFAULT_REGISTRY;
  if (parts.length === 0 || parts.some((p) => !REPO_COMPONENT.test(p))) {
    throw bad(text, 'repository names are lowercase letters, digits and separators');
  }
  if (registry === DEFAULT_REGISTRY && parts.length === 1) parts.unshift('library');
  const ref: RegistryReference = { transport: 'registry', registry, repository: parts.join('/') };
  if (tag) ref.tag = tag;
  else if (!digest) ref.tag = DEFAULT_TAG;
  if (digest) ref.digest = digest;
  return ref;
}

export function parseReference(text: string): ImageReference {
  return text.startsWith('oci:') ? parseOciLayoutReference(text) : parseRegistryReference(text);
}

export function formatReference(ref: ImageReference): string {
  if (ref.transport === 'oci') return ref.ref === undefined ? `oci:${ref.dir}` : `oci:${ref.dir}:${ref.ref}`;
  let out = `${ref.registry}/${ref.repository}`;
  if (ref.tag) out += `:${ref.tag}`;
  if (ref.digest) out += `@${ref.digest}`;
  return out;
}

/** The short docker form (`alpine:3`, `localhost:5000/x:1`), dropping docker.io/library defaults. */
export function familiarName(ref: RegistryReference): string {
  let repo = ref.repository;
  if (ref.registry === DEFAULT_REGISTRY) {
    if (repo.startsWith('library/')) repo = repo.slice('library/'.length);
  } else repo = `${ref.registry}/${repo}`;
  return repo + (ref.tag ? `:${ref.tag}` : '') + (ref.digest ? `@${ref.digest}` : '');
}
