import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importVnfdFile } from '../../src/vnfd/import.js';
import { makeProject } from '../support/project.js';
import { VFW_JSON, VFW_YAML, vfwDocument, yanglint } from './support.js';

describe('vnfpipe vnfd', () => {
  it('import writes the workload and lists the unmapped elements on stderr', async () => {
    const project = makeProject();
    copyFileSync(VFW_YAML, join(project.dir, 'vfw.yaml'));
    const result = await project.cli(['vnfd', 'import', 'vfw.yaml', '--flavour', 'large', '-o', 'fw.json']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('workload fw from VDU fw, flavour large → fw.json');
    expect(result.stderr).toContain("/vnfd/vdu[id='fw']/monitoring-parameter: no metric collection");
    const workload = JSON.parse(readFileSync(join(project.dir, 'fw.json'), 'utf8'));
    expect(workload).toEqual(importVnfdFile(VFW_JSON, { flavour: 'large' }).workload);
  });

  it('import exits 2 naming the YANG path of an unknown flavour, VDU or a missing vdu list', async () => {
    const project = makeProject();
    copyFileSync(VFW_JSON, join(project.dir, 'vfw.json'));
    const flavour = await project.cli(['vnfd', 'import', 'vfw.json', '--flavour', 'medium']);
    expect(flavour.code).toBe(2);
    expect(flavour.stderr).toContain(
      "vfw.json /etsi-nfv-descriptors:nfv/vnfd[id='vfw-vnfd']/df[id='medium']",
    );
    const vdu = await project.cli(['vnfd', 'import', 'vfw.json', '--vdu', 'lb']);
    expect(vdu.code).toBe(2);
    expect(vdu.stderr).toContain("/vnfd[id='vfw-vnfd']/vdu[id='lb']: no VDU 'lb'");

    const doc = vfwDocument();
    delete doc['etsi-nfv-descriptors:nfv'].vnfd[0]!.vdu;
    project.write('empty.json', JSON.stringify(doc));
    const empty = await project.cli(['vnfd', 'import', 'empty.json']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain(
      "empty.json /etsi-nfv-descriptors:nfv/vnfd[id='vfw-vnfd']/vdu: the VNFD has no VDU",
    );
    expect(empty.stdout).toBe('');
  });

  it('export reads the deploy steps of a pipeline whose workload comes from vnfd.workload()', async () => {
    // The VNFD path is relative to the pipeline file, not to where vnfpipe runs.
    const project = makeProject({
      'pipelines/vfw.ts': `import { definePipeline, deploy, vnfd } from 'vnfpipe';
export default definePipeline('vfw', (p) => {
  p.step('fw-small', deploy.docker({ workload: vnfd.workload('descriptors/vfw.json') }));
  p.step('fw-large', deploy.docker({ workload: vnfd.workload('descriptors/vfw.json', { flavour: 'large' }) }));
});
`,
    });
    project.write('pipelines/descriptors/vfw.json', readFileSync(VFW_JSON, 'utf8'));
    const plan = await project.cli(['plan', '-f', 'pipelines/vfw.ts']);
    expect(plan.code).toBe(0);

    const result = await project.cli([
      'vnfd',
      'export',
      '-f',
      'pipelines/vfw.ts',
      '--step',
      'fw-large',
      '-o',
      'out.json',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('1 VNFD(s) → out.json');
    const out = join(project.dir, 'out.json');
    expect(yanglint(out)).toEqual({ status: 0, errors: '' });
    expect(importVnfdFile(out).workload).toEqual(importVnfdFile(VFW_JSON, { flavour: 'large' }).workload);

    // Both flavours' workloads in one document: the second VNFD gets an id of its own.
    const all = await project.cli(['vnfd', 'export', '-f', 'pipelines/vfw.ts', '-o', 'all.json']);
    expect(all.code).toBe(0);
    expect(all.stderr).toContain(
      "VNFD id 'vfw-vnfd' is taken by an earlier workload: written as 'vfw-vnfd-large'",
    );
    expect(yanglint(join(project.dir, 'all.json'))).toEqual({ status: 0, errors: '' });
    expect(importVnfdFile(join(project.dir, 'all.json'), { vnfd: 'vfw-vnfd' }).workload).toEqual(
      importVnfdFile(VFW_JSON).workload,
    );

    const unknown = await project.cli(['vnfd', 'export', '-f', 'pipelines/vfw.ts', '--step', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('deploy steps: fw-small, fw-large');
  });

  it('a broken VNFD in a pipeline stops plan with exit 2', async () => {
    const project = makeProject({
      'vnfpipe.config.ts': `import { definePipeline, deploy, vnfd } from 'vnfpipe';
export default definePipeline('vfw', (p) => {
  p.step('fw', deploy.docker({ workload: vnfd.workload('vfw.json', { flavour: 'medium' }) }));
});
`,
    });
    project.write('vfw.json', readFileSync(VFW_JSON, 'utf8'));
    const plan = await project.cli(['plan']);
    expect(plan.code).toBe(2);
    expect(plan.stderr).toContain("df[id='medium']");
  });
});
