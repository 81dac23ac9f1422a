/**
 * Image checks beyond vulnerable packages: the runtime user, setuid/setgid and world-writable files,
 * private keys and tokens in any layer (also in files a later layer deleted: they stay in the blobs),
 * missing healthcheck, a `latest` tag, an oversized image.
 */
import type { ImageConfig } from '../oci/config.js';
import type { FileNode, FsView } from './image/fsview.js';
import type { BodySink } from './image/tar.js';
import type { CheckFinding } from './model.js';

export interface CheckOptions {
  /** Images above this many bytes (compressed layers) are reported; default 1 GiB. */
  maxImageBytes?: number;
}

/** Files up to this size are read for secrets; bigger ones are data, not credentials. */
const SECRET_SCAN_MAX = 1024 * 1024;

const PEM_KEY =
  /-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY)-----\r?\n(?:[A-Za-z0-9-]+: [^\n]*\r?\n)*\r?\n?[A-Za-z0-9+/=\r\n]{64,}-----END \1-----/;
const TOKENS: Array<{ name: string; re: RegExp }> = [
  { name: 'AWS access key id', re: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { name: 'GitHub token', re: /\bgh[pousr]_[A-Za-z0-9]{36,255}\b/ },
  { name: 'GitLab token', re: /\bglpat-[A-Za-z0-9_-]{20,}\b/ },
  { name: 'Slack token', re: /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/ },
  { name: 'npm token', re: /\bnpm_[A-Za-z0-9]{36}\b/ },
];
const TOKEN_HINT = /AKIA|ASIA|gh[pousr]_|glpat-|xox[abposr]-|npm_/;

/** Paths whose contents are documentation or test vectors shipped by packages, not the image's secrets. */
const SECRET_EXEMPT = /^usr\/share\/(?:doc|man|info|locale)\//;

/** Watches file bodies for secrets as layers stream by. */
export class SecretWatcher {
  readonly hits: Array<{
    id: 'private-key' | 'secret-token';
    what: string;
    path: string;
    layer: number;
    layerDigest: string;
  }> = [];

  /** A sink for a regular file of a layer, or undefined when it is not worth reading. */
  sink(node: FileNode, layerDigest: string): BodySink | undefined {
    if (node.size === 0 || node.size > SECRET_SCAN_MAX || SECRET_EXEMPT.test(node.path)) return undefined;
    const parts: Buffer[] = [];
    let binary = false;
    let first = true;
    return {
      data: (chunk) => {
        if (first) {
          first = false;
          // ELF and other binaries carry PEM markers as string constants; skip them (NUL in the head).
          if (chunk.subarray(0, 1024).includes(0)) binary = true;
        }
        if (!binary) parts.push(Buffer.from(chunk));
      },
      end: () => {
        if (binary || parts.length === 0) return;
        const text = Buffer.concat(parts).toString('latin1');
        if (text.includes('PRIVATE KEY-----')) {
          const m = PEM_KEY.exec(text);
          if (m)
            this.hits.push({
              id: 'private-key',
              what: m[1]!.toLowerCase(),
              path: node.path,
              layer: node.layer,
              layerDigest,
            });
        }
        if (TOKEN_HINT.test(text)) {
          for (const { name, re } of TOKENS) {
            if (re.test(text))
              this.hits.push({
                id: 'secret-token',
                what: name,
                path: node.path,
                layer: node.layer,
                layerDigest,
              });
          }
        }
      },
    };
  }
}

/** Combines two sinks (a cataloger and the secret watcher may both want a file). */
export function teeSinks(a: BodySink | undefined, b: BodySink | undefined): BodySink | undefined {
  if (!a) return b;
  if (!b) return a;
  return {
    data: (chunk) => {
      a.data(chunk);
      b.data(chunk);
    },
    end: () => {
      a.end();
      b.end();
    },
  };
}

export interface CheckInput {
  view: FsView;
  config: ImageConfig;
  tag: string | undefined;
  layerDigests: string[];
  imageBytes: number;
  secrets: SecretWatcher;
}

function isRootUser(user: string | undefined): boolean {
  if (!user) return true;
  const name = user.split(':')[0]!;
  return name === '' || name === 'root' || name === '0';
}

export function runChecks(input: CheckInput, options: CheckOptions = {}): CheckFinding[] {
  const out: CheckFinding[] = [];
  const { view, config } = input;
  const layerOf = (node: FileNode) => ({ layer: node.layer, layerDigest: input.layerDigests[node.layer]! });
  if (isRootUser(config.config?.User)) {
    out.push({
      id: 'root-user',
      severity: 'medium',
      message: config.config?.User
        ? `the image runs as ${config.config.User}`
        : 'the image runs as root (no USER set)',
    });
  }
  if (!config.config?.Healthcheck?.Test?.length || config.config.Healthcheck.Test[0] === 'NONE') {
    out.push({ id: 'no-healthcheck', severity: 'low', message: 'the image defines no healthcheck' });
  }
  if (input.tag !== undefined && (input.tag === 'latest' || input.tag.endsWith(':latest'))) {
    out.push({
      id: 'latest-tag',
      severity: 'low',
      message: `the image is referenced by the mutable tag "${input.tag}"`,
    });
  }
  const maxBytes = options.maxImageBytes ?? 1024 ** 3;
  if (input.imageBytes > maxBytes) {
    out.push({
      id: 'oversized',
      severity: 'low',
      message: `the image is ${(input.imageBytes / 1024 ** 2).toFixed(0)} MiB, more than ${(maxBytes / 1024 ** 2).toFixed(0)} MiB`,
    });
  }
  for (const node of view.walk()) {
    if (node.kind !== 'file' && node.kind !== 'dir') continue;
    if (node.kind === 'file' && node.mode & 0o4000) {
      out.push({
        id: 'setuid',
        severity: 'low',
        message: `setuid file (owner ${node.uid})`,
        path: `/${node.path}`,
        ...layerOf(node),
      });
    }
    if (node.kind === 'file' && node.mode & 0o2000) {
      out.push({
        id: 'setgid',
        severity: 'low',
        message: `setgid file (group ${node.gid})`,
        path: `/${node.path}`,
        ...layerOf(node),
      });
    }
    // World-writable directories with the sticky bit (/tmp) are the normal, safe case.
    if (node.mode & 0o002 && !(node.kind === 'dir' && node.mode & 0o1000)) {
      out.push({
        id: 'world-writable',
        severity: 'medium',
        message: `world-writable ${node.kind === 'dir' ? 'directory' : 'file'}`,
        path: `/${node.path}`,
        ...layerOf(node),
      });
    }
  }
  for (const hit of input.secrets.hits) {
    // Present in the final filesystem only if the same layer's copy is what the view shows.
    const current = view.get(hit.path);
    const deleted = !current || current.layer !== hit.layer;
    out.push({
      id: hit.id,
      severity: 'high',
      message: `${hit.what} in a layer${deleted ? ' (deleted by a later layer, still in the image blobs)' : ''}`,
      path: `/${hit.path}`,
      layer: hit.layer,
      layerDigest: hit.layerDigest,
      deleted,
    });
  }
  return out;
}
