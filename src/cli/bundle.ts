/**
 * `vnfpipe bundle create|verify|push`: air-gapped release bundles. Progress goes to stderr, results to
 * stdout (`--json`: one JSON document).
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { EXIT, VnfpipeError } from '../errors.js';
import type { BundleProblem } from '../fleet/bundle/verify.js';
import { readPublicKey } from '../trust/key-source.js';
import { clientOptions, type RegistryCommandOptions, withCredentials } from './registry.js';

export interface BundleCreateOptions extends RegistryCommandOptions {
  file: string;
  /** Set when the user gave -f (a missing default file is fine with --image). */
  fileGiven?: boolean;
  out: string;
  image?: string[];
}

export interface BundleVerifyOptions {
  key?: string[];
  json?: boolean;
  quiet?: boolean;
}

export interface BundlePushOptions extends RegistryCommandOptions {
  mapping?: string;
  concurrency?: number;
}

function say(opts: { quiet?: boolean; json?: boolean }, line: string): void {
  if (!opts.quiet) process.stderr.write(`${line}\n`);
}

function mib(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${bytes} bytes`;
}

export async function bundleCreateCommand(opts: BundleCreateOptions): Promise<number> {
  opts = await withCredentials(opts);
  const { createBundle } = await import('../fleet/bundle/create.js');
  let pipeline: string | undefined;
  const images: string[] = [];
  let files: Awaited<ReturnType<typeof import('../fleet/bundle/pipeline.js').pipelineContents>>['files'] = [];
  if (opts.fileGiven || existsSync(resolve(opts.file)) || !opts.image?.length) {
    const { pipelineContents } = await import('../fleet/bundle/pipeline.js');
    const contents = await pipelineContents(opts.file);
    pipeline = contents.pipeline;
    images.push(...contents.images);
    files = contents.files;
  }
  for (const image of opts.image ?? []) if (!images.includes(image)) images.push(image);
  const out = resolve(opts.out);
  const index = await createBundle(out, {
    images,
    files,
    ...(pipeline ? { pipeline } : {}),
    registries: { default: clientOptions(opts) },
    onLog: (line) => say(opts, line),
    onProgress: (p) => {
      if (p.state === 'done') say(opts, `  ${p.digest.slice(0, 19)}  packed (${mib(p.total)})`);
      else if (p.state === 'shared')
        say(opts, `  ${p.digest.slice(0, 19)}  shared with an earlier image (${mib(p.total)})`);
      else if (p.state === 'transferring' && p.total >= 64 * 1024 * 1024 && p.current < p.total)
        say(
          opts,
          `  ${p.digest.slice(0, 19)}  ${Math.floor((p.current * 100) / p.total)}% of ${mib(p.total)}`,
        );
    },
  });
  if (opts.json) process.stdout.write(`${JSON.stringify({ bundle: out, ...index })}\n`);
  else if (!opts.quiet) {
    for (const image of index.images) process.stdout.write(`${image.reference}\n`);
    say(opts, `wrote ${out}: ${index.images.length} image(s), ${index.files.length} file(s)`);
  }
  return EXIT.ok;
}

function describeProblem(p: BundleProblem): string {
  return p.images.length ? `${p.images.join(', ')}: ${p.message}` : p.message;
}

export async function bundleVerifyCommand(path: string, opts: BundleVerifyOptions): Promise<number> {
  const keys = (opts.key ?? []).map((key) => readPublicKey(key));
  const { verifyBundle } = await import('../fleet/bundle/verify.js');
  let lastShown = 0;
  const result = await verifyBundle(resolve(path), {
    keys,
    onProgress: (done, total) => {
      // A line every tenth of the way on a bundle big enough to take a while.
      if (!opts.json && total >= 64 * 1024 * 1024 && done * 10 >= (lastShown + 1) * total) {
        lastShown = Math.floor((done * 10) / total);
        say(opts, `checked ${mib(done)} of ${mib(total)}`);
      }
    },
  });
  if (opts.json) {
    const { index, ...rest } = result;
    process.stdout.write(`${JSON.stringify({ ...rest, images: index.images.map((i) => i.reference) })}\n`);
  } else {
    for (const problem of result.problems) process.stderr.write(`vnfpipe: ${describeProblem(problem)}\n`);
    if (result.ok && !opts.quiet) {
      const signed = result.signatures
        ? `, signatures verified for all ${result.index.images.length} image(s)`
        : '';
      process.stdout.write(
        `${basename(path)}: ok — ${result.index.images.length} image(s), ${result.blobs} blobs (${mib(result.bytes)}), ${result.index.files.length} file(s)${signed}\n`,
      );
    }
  }
  if (!result.ok) {
    if (!opts.json)
      process.stderr.write(
        `vnfpipe: error: ${new VnfpipeError('BUNDLE_VERIFY_FAILED', `${result.problems.length} problem(s) in the bundle`, { where: path }).describe()}\n`,
      );
    return EXIT.failed;
  }
  return EXIT.ok;
}

export async function bundlePushCommand(
  path: string,
  destination: string,
  opts: BundlePushOptions,
): Promise<number> {
  opts = await withCredentials(opts);
  const { pushBundle, parseSiteDestination } = await import('../fleet/bundle/push.js');
  const site = parseSiteDestination(destination);
  const shownAt = new Map<string, number>();
  const result = await pushBundle(resolve(path), destination, {
    registries: { [site.registry]: clientOptions(opts) },
    ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
    onLog: (line) => say(opts, `pushed ${line}`),
    onProgress: (p) => {
      const where = `[${p.blobsDone}/${p.blobsTotal}] ${p.digest.slice(0, 19)}`;
      if (p.state === 'transferring') {
        // Big blobs say how far they are, every quarter.
        const quarter = Math.floor((p.current * 4) / Math.max(1, p.total));
        if (p.total >= 16 * 1024 * 1024 && quarter > (shownAt.get(p.digest) ?? 0) && quarter < 4) {
          shownAt.set(p.digest, quarter);
          say(opts, `${where}  ${quarter * 25}% of ${mib(p.total)}`);
        }
        return;
      }
      const what = { exists: 'already there', mounted: 'mounted', uploaded: 'uploaded' }[p.state];
      say(opts, `${where}  ${what} (${mib(p.total)})`);
    },
  });
  const mapping = {
    registry: result.registry,
    ...(result.prefix ? { prefix: result.prefix } : {}),
    images: result.images.map((i) => ({ source: i.source, reference: i.reference, digest: i.digest })),
  };
  const mappingFile = resolve(opts.mapping ?? `${basename(path).replace(/\.tar$/, '')}.mapping.json`);
  await writeFile(mappingFile, `${JSON.stringify(mapping, null, 2)}\n`);
  if (opts.json) process.stdout.write(`${JSON.stringify({ ...result, mapping: mappingFile })}\n`);
  else if (!opts.quiet) {
    for (const image of result.images) process.stdout.write(`${image.reference}\n`);
    say(opts, `mapping written to ${mappingFile}`);
  }
  return EXIT.ok;
}
