/**
 * Images of the example VNF for deploy tests, made with the engine (create + cp + commit) on the busybox
 * base, so these tests do not depend on vnfpipe's own image builder.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { busyboxInDocker, docker } from './engine-images.js';
import { REPO_ROOT } from './project.js';

/** Builds `tag` with the vfw binary and the given rules; returns the image id (sha256:…). */
export function vfwImage(tag: string, rules: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-vfw-'));
  execFileSync('gcc', ['-O2', '-static', '-o', join(dir, 'vfw'), join(REPO_ROOT, 'pipelines/vfw/src/vfw.c')]);
  writeFileSync(join(dir, 'rules.conf'), rules);
  const container = docker('create', busyboxInDocker(), 'true');
  try {
    docker('cp', join(dir, 'vfw'), `${container}:/bin/vfw`);
    docker('cp', join(dir, 'rules.conf'), `${container}:/rules.conf`);
    docker(
      'commit',
      '--change',
      'ENTRYPOINT ["/bin/vfw"]',
      '--change',
      'CMD ["-c", "/rules.conf"]',
      container,
      tag,
    );
  } finally {
    docker('rm', '-f', container);
  }
  return docker('image', 'inspect', '--format', '{{.Id}}', tag);
}
