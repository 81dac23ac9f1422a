/** `vnfpipe render` on the example's Kubernetes variant (spawns bin/vnfpipe.js: npm run build first). */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const vnfpipe = (...args: string[]) =>
  spawnSync(process.execPath, [join(ROOT, 'bin/vnfpipe.js'), ...args], { cwd: ROOT, encoding: 'utf8' });

describe('vnfpipe render', () => {
  it("writes each kubernetes deploy step's objects to <workload>.yaml in apply order", () => {
    const out = mkdtempSync(join(tmpdir(), 'vnfpipe-render-'));
    const image = `registry.example/vnf/vfw@sha256:${'c'.repeat(64)}`;
    const result = vnfpipe('render', '-f', 'vnfpipe.kubernetes.ts', '-o', out, '--image', image);
    expect(result.stderr).toContain(`deploy: 7 objects → ${join(out, 'vfw.yaml')}`);
    expect(result.status).toBe(0);
    expect(readdirSync(out)).toEqual(['vfw.yaml']);
    const docs = parseAllDocuments(readFileSync(join(out, 'vfw.yaml'), 'utf8')).map((d) => d.toJS());
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
      'Namespace/vnf',
      'ServiceAccount/vfw',
      'NetworkAttachmentDefinition/vfw-1-in',
      'NetworkAttachmentDefinition/vfw-2-out',
      'Service/vfw',
      'PodDisruptionBudget/vfw',
      'Deployment/vfw',
    ]);
    const pod = docs.at(-1).spec.template.spec;
    expect(pod.containers[0].image).toBe(image);
    expect(pod.containers[0].resources.limits['hugepages-2Mi']).toBe('1Gi');
  });

  it('refuses an unknown step with exit 2', () => {
    const result = vnfpipe('render', '-f', 'vnfpipe.kubernetes.ts', '--step', 'nope');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("no kubernetes deploy step 'nope'");
  });
});
