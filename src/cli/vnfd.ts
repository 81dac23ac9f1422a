/** `vnfpipe vnfd import|export`: SOL006 VNFDs to workloads and back. */
import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { VnfpipeError } from '../errors.js';
import { loadPipeline } from '../pipeline/loader.js';
import { type ExportableWorkload, exportVnfd } from '../vnfd/export.js';
import { importVnfdFile } from '../vnfd/import.js';

export interface VnfdImportCommandOptions {
  flavour?: string;
  vdu?: string;
  vnfd?: string;
  output?: string;
}

/** Writes the workload (stdout or -o) and lists every VNFD element it could not carry on stderr. */
export async function vnfdImportCommand(file: string, opts: VnfdImportCommandOptions): Promise<number> {
  const result = importVnfdFile(file, {
    ...(opts.flavour !== undefined ? { flavour: opts.flavour } : {}),
    ...(opts.vdu !== undefined ? { vdu: opts.vdu } : {}),
    ...(opts.vnfd !== undefined ? { vnfd: opts.vnfd } : {}),
  });
  const json = `${JSON.stringify(result.workload, null, 2)}\n`;
  if (opts.output) {
    write(opts.output, json);
    process.stdout.write(
      `workload ${result.workload.name} from VDU ${result.vdu}, flavour ${result.flavour} → ${opts.output}\n`,
    );
  } else {
    process.stdout.write(json);
  }
  if (result.unmapped.length) {
    const lines = result.unmapped.map((u) => `  ${u.path}: ${u.reason}`);
    process.stderr.write(`not mapped (${result.unmapped.length}):\n${lines.join('\n')}\n`);
  }
  return 0;
}

export interface VnfdExportCommandOptions {
  file?: string;
  step?: string[];
  output?: string;
}

/** One VNFD per deploy step of the pipeline (or the chosen ones), JSON unless -o names a .yaml file. */
export async function vnfdExportCommand(opts: VnfdExportCommandOptions): Promise<number> {
  const { pipeline, file } = await loadPipeline(opts.file);
  const deploys = pipeline.steps.filter((s) => s.spec.kind === 'deploy');
  const wanted = opts.step ?? [];
  for (const id of wanted) {
    if (!deploys.some((s) => s.id === id)) {
      throw new VnfpipeError('USAGE', `no deploy step '${id}'`, {
        where: file,
        hint: `deploy steps: ${deploys.map((s) => s.id).join(', ') || '(none)'}`,
      });
    }
  }
  const chosen = wanted.length ? deploys.filter((s) => wanted.includes(s.id)) : deploys;
  if (chosen.length === 0) {
    throw new VnfpipeError('USAGE', 'the pipeline has no deploy step', { where: file });
  }
  const workloads = chosen.map((s) => (s.spec.options as { workload: ExportableWorkload }).workload);
  const { document, unexported } = exportVnfd(workloads);
  const yaml = opts.output !== undefined && ['.yaml', '.yml'].includes(extname(opts.output).toLowerCase());
  const text = yaml ? toYaml(document) : `${JSON.stringify(document, null, 2)}\n`;
  if (opts.output) {
    write(opts.output, text);
    process.stdout.write(`${workloads.length} VNFD(s) → ${opts.output}\n`);
  } else {
    process.stdout.write(text);
  }
  if (unexported.length) {
    const lines = unexported.map((u) => `  ${u.field}: ${u.reason}`);
    process.stderr.write(`not exported (${unexported.length}):\n${lines.join('\n')}\n`);
  }
  return 0;
}

function write(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (error) {
    throw new VnfpipeError('IO', `cannot write: ${(error as Error).message}`, { where: path, cause: error });
  }
}
