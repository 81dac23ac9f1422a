/** Kubernetes rendering of a VNF workload and static CNF checks on the result. Pure: no cluster. */

export {
  CNF_CHECKS,
  type CnfCheckId,
  type CnfCheckInfo,
  type CnfCheckOptions,
  type CnfFinding,
  type CnfWaivers,
  INSECURE_CAPABILITIES,
  SAFE_SYSCTLS,
} from './cnf-catalog.js';
export { checkCnf, unwaived } from './cnf-checks.js';
export { type CnfSarifOptions, cnfFindingsToSarif } from './cnf-sarif.js';
export { NETWORKS_ANNOTATION, RESOURCE_NAME_ANNOTATION } from './networks.js';
export { type KubernetesRenderOptions, renderKubernetes } from './render.js';
export type * from './types.js';
export { toYaml } from './yaml.js';
