/**
 * ETSI SOL006 VNFDs: import one VDU of a deployment flavour as a workload, export workloads as VNFDs.
 * `vnfd.workload(file, …)` reads the file synchronously when the pipeline file is loaded, so a bad VNFD
 * stops `vnfpipe plan` and `run` before any step starts.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Workload } from '../deploy/model.js';
import { isOwnCode } from '../package-root.js';
import { exportVnfd } from './export.js';
import { importVnfd, importVnfdFile, type VnfdImportOptions } from './import.js';

export type { UnmappedElement } from './coverage.js';
export type { ExportableWorkload, UnexportedField, VnfdExport } from './export.js';
export type { VnfdImport, VnfdImportOptions } from './import.js';
export { LABEL as VNFD_LABEL } from './labels.js';
export { exportVnfd, importVnfd, importVnfdFile };

/** The pipeline helper: `deploy.docker({ workload: vnfd.workload('vnfd.yaml', { flavour: 'small' }) })`. */
export const vnfd = {
  /** The workload of one VDU of a VNFD file; a relative path is relative to the calling (pipeline) file. */
  workload(file: string, options: VnfdImportOptions = {}): Workload {
    return importVnfdFile(besideCaller(file), options).workload;
  },
  import: importVnfdFile,
  export: exportVnfd,
};

const FRAME = /(?:\(|at )((?:file:\/\/)?\/[^\s()]+):\d+:\d+\)?\s*$/;

/** `vnfd.yaml` next to the pipeline file, whichever directory vnfpipe runs in. */
function besideCaller(file: string): string {
  if (isAbsolute(file)) return file;
  // Pipeline stacks are source-mapped (the loader enables it): the first foreign frame is the pipeline file.
  for (const line of (new Error().stack ?? '').split('\n').slice(1)) {
    const match = FRAME.exec(line);
    if (!match) continue;
    const path = match[1]!.startsWith('file://') ? fileURLToPath(match[1]!) : match[1]!;
    if (isOwnCode(path) || path.includes('/node_modules/')) continue;
    return resolve(dirname(path), file);
  }
  return resolve(file);
}
