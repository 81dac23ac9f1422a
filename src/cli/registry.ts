/**
 * Registry commands: `push` and `pull` (copies between `oci:<dir>[:ref]` layouts and registries, like
 * `skopeo copy`), `artifact push|pull|ls`, `login` and `logout`. Each returns an exit code; errors are
 * reported here (never with credentials: the registry module keeps them out of messages).
 */
import { resolve } from 'node:path';
import { EXIT, VnfpipeError } from '../errors.js';
import {
  type ImageReference,
  parseReference,
  parseRegistryReference,
  type RegistryReference,
} from '../oci/reference.js';
import { credentialsFromString } from '../registry/auth/credentials.js';
import type { ClientOptions } from '../registry/client.js';
import type { ImageFormat } from '../registry/convert.js';
import type { BlobProgress, CopyResult } from '../registry/copy.js';
import { reportError } from './errors.js';

export interface RegistryCommandOptions {
  /** Allow plain HTTP / unverified TLS for a registry off loopback. */
  insecure?: boolean;
  /** Extra CA bundle (PEM). */
  caFile?: string;
  /** `user:password` (or a bare token) for the registry side, instead of the docker config. */
  creds?: string;
  /** Read `creds` from standard input (kept out of the process list). */
  credsStdin?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export interface CopyCommandOptions extends RegistryCommandOptions {
  /** Extra tags on the destination (repeatable). */
  tag?: string[];
  /** Copy one platform of an index (`linux/amd64`). */
  platform?: string;
  concurrency?: number;
  /** `oci` converts Docker manifests to OCI media types (their digests change); default: keep them. */
  format?: string;
}

function warn(line: string): void {
  process.stderr.write(`vnfpipe: warning: ${line}\n`);
}

/**
 * Resolves `--creds-stdin` into `creds`, and warns (as docker does for `login -p`) when a secret came on the
 * command line, where every user of the machine can read it in the process list. Other commands taking
 * `--creds` can call it too.
 */
export async function withCredentials<T extends RegistryCommandOptions>(opts: T): Promise<T> {
  if (opts.credsStdin) {
    if (opts.creds !== undefined)
      throw new VnfpipeError('USAGE', '--creds and --creds-stdin exclude each other');
    const creds = await readStdin();
    if (!creds) throw new VnfpipeError('USAGE', '--creds-stdin read nothing from standard input');
    return { ...opts, creds };
  }
  if (opts.creds !== undefined) {
    warn(
      'Using --creds via the CLI is insecure. Use --creds-stdin, or VNFPIPE_REGISTRY_USERNAME and VNFPIPE_REGISTRY_PASSWORD.',
    );
  }
  return opts;
}

export function clientOptions(opts: RegistryCommandOptions): ClientOptions {
  return {
    ...(opts.insecure ? { insecure: true } : {}),
    ...(opts.caFile ? { caFile: resolve(opts.caFile) } : {}),
    ...(opts.creds ? { credentials: credentialsFromString(opts.creds) } : {}),
  };
}

function progressPrinter(opts: RegistryCommandOptions): ((p: BlobProgress) => void) | undefined {
  if (opts.quiet || opts.json) return undefined;
  return (p) => {
    if (p.state === 'transferring') return;
    const what = { exists: 'already present', mounted: 'mounted', done: 'copied' }[p.state];
    process.stderr.write(`${p.digest.slice(0, 19)}  ${what} (${p.total} bytes)\n`);
  };
}

function printResult(result: CopyResult, opts: RegistryCommandOptions): void {
  if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else if (!opts.quiet) process.stdout.write(`${result.reference}\n`);
}

async function copy(
  src: string,
  dest: string,
  opts: CopyCommandOptions,
  want: 'push' | 'pull',
): Promise<number> {
  try {
    opts = await withCredentials(opts);
    const source = parseReference(await (await import('../oci/docker-archive.js')).asLayoutReference(src));
    const target = parseReference(dest);
    if (want === 'push' && target.transport !== 'registry') {
      throw new VnfpipeError('USAGE', 'push copies to a registry: the destination is host/repo:tag', {
        where: dest,
      });
    }
    if (want === 'pull' && source.transport !== 'registry') {
      throw new VnfpipeError('USAGE', 'pull copies from a registry: the source is host/repo:tag', {
        where: src,
      });
    }
    const { copyImage } = await import('../registry/copy.js');
    const registries: Record<string, ClientOptions> = {};
    const side = (want === 'push' ? target : source) as RegistryReference;
    registries[side.registry] = clientOptions(opts);
    const result = await copyImage(source as ImageReference, target, {
      registries,
      ...(opts.tag?.length ? { tags: opts.tag } : {}),
      ...(opts.platform ? { platform: opts.platform } : {}),
      ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
      ...(opts.format ? { format: opts.format as ImageFormat } : {}),
      onProgress: progressPrinter(opts),
    });
    printResult(result, opts);
    return EXIT.ok;
  } catch (error) {
    return reportError(error);
  }
}

/** `vnfpipe push <src> <dest>`: an OCI layout (or registry) image to a registry. */
export function pushCommand(src: string, dest: string, opts: CopyCommandOptions = {}): Promise<number> {
  return copy(src, dest, opts, 'push');
}

/** `vnfpipe pull <src> <dest>`: a registry image into an OCI layout (or another registry). */
export function pullCommand(src: string, dest: string, opts: CopyCommandOptions = {}): Promise<number> {
  return copy(src, dest, opts, 'pull');
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export interface LoginOptions extends RegistryCommandOptions {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
}

/** `vnfpipe login <registry>`: checks the credentials against the registry, then saves them like docker. */
export async function loginCommand(registry: string, opts: LoginOptions = {}): Promise<number> {
  try {
    if (!opts.username) throw new VnfpipeError('USAGE', 'login needs --username', { where: registry });
    if (opts.password !== undefined && opts.passwordStdin) {
      throw new VnfpipeError('USAGE', '--password and --password-stdin exclude each other');
    }
    if (opts.password !== undefined) warn('Using --password via the CLI is insecure. Use --password-stdin.');
    const password = opts.passwordStdin ? await readStdin() : opts.password;
    if (!password)
      throw new VnfpipeError('USAGE', 'login needs a password (--password-stdin)', { where: registry });
    const host = normaliseRegistry(registry);
    const { RegistryClient } = await import('../registry/client.js');
    const { storeCredentials } = await import('../registry/auth/docker-config.js');
    const client = new RegistryClient(host, {
      ...clientOptions({ ...opts, creds: undefined }),
      credentials: { kind: 'basic', username: opts.username, password },
      dockerConfig: false,
    });
    try {
      await client.checkLogin();
    } finally {
      client.close();
    }
    const saved = await storeCredentials(host, { username: opts.username, password });
    if (!opts.quiet) {
      process.stdout.write(
        `Login Succeeded (${saved.helper ? `credential helper ${saved.helper}` : saved.path})\n`,
      );
    }
    return EXIT.ok;
  } catch (error) {
    return reportError(error);
  }
}

/** `vnfpipe logout <registry>`: removes saved credentials. */
export async function logoutCommand(registry: string, opts: { quiet?: boolean } = {}): Promise<number> {
  try {
    const host = normaliseRegistry(registry);
    const { eraseCredentials } = await import('../registry/auth/docker-config.js');
    const removed = await eraseCredentials(host);
    if (!opts.quiet)
      process.stdout.write(
        removed ? `Removed login credentials for ${host}\n` : `Not logged in to ${host}\n`,
      );
    return EXIT.ok;
  } catch (error) {
    return reportError(error);
  }
}

/** `https://host/`, `host` → `host`; docker.io aliases stay as docker writes them. */
function normaliseRegistry(text: string): string {
  const host = text.replace(/^[a-z]+:\/\//i, '').split('/')[0] ?? '';
  if (!host) throw new VnfpipeError('USAGE', `invalid registry ${JSON.stringify(text)}`);
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
}

export interface ArtifactPushOptions extends RegistryCommandOptions {
  artifactType: string;
  /** The image this artifact is about: a tag or digest in the same repository, or a full reference. */
  subject?: string;
  /** `key=value` annotations (repeatable). */
  annotation?: string[];
  /** Media type of every file (default application/octet-stream). */
  mediaType?: string;
}

async function withClient<T>(
  registry: string,
  opts: RegistryCommandOptions,
  fn: (client: import('../registry/client.js').RegistryClient) => Promise<T>,
): Promise<T> {
  const { RegistryClient } = await import('../registry/client.js');
  const client = new RegistryClient(registry, clientOptions(await withCredentials(opts)));
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

function subjectReference(target: RegistryReference, subject: string): RegistryReference {
  if (subject.includes('/')) return parseRegistryReference(subject);
  return subject.startsWith('sha256:') || subject.startsWith('sha512:')
    ? parseRegistryReference(`${target.registry}/${target.repository}@${subject}`)
    : parseRegistryReference(`${target.registry}/${target.repository}:${subject}`);
}

/** `vnfpipe artifact push <ref> <file…> --artifact-type T [--subject <image>]` */
export async function artifactPushCommand(
  ref: string,
  files: string[],
  opts: ArtifactPushOptions,
): Promise<number> {
  try {
    const target = parseRegistryReference(ref);
    const explicitTag = /:[\w][\w.-]*$/.test(ref.slice(ref.lastIndexOf('/') + 1).split('@')[0]!);
    const annotations: Record<string, string> = {};
    for (const pair of opts.annotation ?? []) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new VnfpipeError('USAGE', `annotation ${JSON.stringify(pair)} is not key=value`);
      annotations[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    const { pushArtifact, resolveDescriptor } = await import('../registry/artifact.js');
    const pushed = await withClient(target.registry, opts, async (client) => {
      let subject: import('../oci/descriptor.js').Descriptor | undefined;
      if (opts.subject) {
        const s = subjectReference(target, opts.subject);
        if (s.registry !== target.registry || s.repository !== target.repository) {
          throw new VnfpipeError('USAGE', 'the subject must be in the same repository as the artifact', {
            where: opts.subject,
          });
        }
        subject = await resolveDescriptor(client, s.repository, s.digest ?? s.tag ?? 'latest');
      }
      return pushArtifact(client, {
        repository: target.repository,
        artifactType: opts.artifactType,
        files: files.map((path) => ({ path, ...(opts.mediaType ? { mediaType: opts.mediaType } : {}) })),
        ...(explicitTag && target.tag ? { tag: target.tag } : {}),
        ...(subject ? { subject } : {}),
        annotations,
      });
    });
    if (opts.json) process.stdout.write(`${JSON.stringify(pushed)}\n`);
    else if (!opts.quiet) process.stdout.write(`${pushed.reference}\n`);
    return EXIT.ok;
  } catch (error) {
    return reportError(error);
  }
}

/** `vnfpipe artifact pull <ref> [-o dir]` */
export async function artifactPullCommand(
  ref: string,
  opts: RegistryCommandOptions & { output?: string } = {},
): Promise<number> {
  try {
    const target = parseRegistryReference(ref);
    const { pullArtifact } = await import('../registry/artifact.js');
    const pulled = await withClient(target.registry, opts, (client) =>
      pullArtifact(client, target.repository, target.digest ?? target.tag ?? 'latest', opts.output ?? '.'),
    );
    if (opts.json) process.stdout.write(`${JSON.stringify(pulled)}\n`);
    else if (!opts.quiet) for (const file of pulled.files) process.stdout.write(`${file.path}\n`);
    return EXIT.ok;
  } catch (error) {
    return reportError(error);
  }
}

/** `vnfpipe artifact ls <image> [--artifact-type T]`: the image's referrers. */
export async function artifactLsCommand(
  ref: string,
  opts: RegistryCommandOptions & { artifactType?: string } = {},
): Promise<number> {
  try {
    const target = parseRegistryReference(ref);
    const { resolveDescriptor } = await import('../registry/artifact.js');
    const { listReferrers } = await import('../registry/referrers.js');
    const listed = await withClient(target.registry, opts, async (client) => {
      const subject = await resolveDescriptor(
        client,
        target.repository,
        target.digest ?? target.tag ?? 'latest',
      );
      return {
        subject: subject.digest,
        ...(await listReferrers(client, target.repository, subject.digest, opts)),
      };
    });
    if (opts.json) process.stdout.write(`${JSON.stringify(listed)}\n`);
    else {
      for (const r of listed.referrers) {
        const title = r.annotations
          ? Object.entries(r.annotations)
              .map(([k, v]) => `${k}=${v}`)
              .join(' ')
          : '';
        process.stdout.write(`${r.digest}  ${r.artifactType ?? r.mediaType}${title ? `  ${title}` : ''}\n`);
      }
    }
    return EXIT.ok;
  } catch (error) {
    return reportError(error);
  }
}
