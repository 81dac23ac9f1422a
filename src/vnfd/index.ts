/**
 * ETSI SOL006 VNFDs: import one VDU of a deployment flavour as a workload, export workloads as VNFDs.
 * `vnfd.workload(file, …)` reads the file synchronously when the pipeline file is loaded, so a bad VNFD
 * stops `vnfpipe plan` and `run` before any step starts.
 */
import type { Workload } from '../deploy/model.js';
import { exportVnfd } from './export.js';
import { importVnfd, importVnfdFile, type VnfdImportOptions } from './import.js';

export type { UnmappedElement } from './coverage.js';
export type { ExportableWorkload, UnexportedField, VnfdExport } from './export.js';
export type { VnfdImport, VnfdImportOptions } from './import.js';
export { LABEL as VNFD_LABEL } from './labels.js';
export { exportVnfd, importVnfd, importVnfdFile };

/** The pipeline helper: `deploy.docker({ workload: vnfd.workload('vnfd.yaml', { flavour: 'small' }) })`. */
export const vnfd = {
  /** The workload of one VDU of a VNFD file (path relative to the working directory). */
  workload(file: string, options: VnfdImportOptions = {}): Workload {
    return importVnfdFile(file, options).workload;
  },
  import: importVnfdFile,
  export: exportVnfd,
};
