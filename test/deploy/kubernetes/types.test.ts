/**
 * The renderer's hand-written API types against kubernetes-models' generated ones: `tsc --noEmit` fails
 * when a field the renderer writes has a type the API does not accept (the schema validators would only
 * notice for the values a test happens to render).
 */
import type { IDaemonSetSpec } from 'kubernetes-models/apps/v1/DaemonSetSpec';
import type { IDeploymentSpec } from 'kubernetes-models/apps/v1/DeploymentSpec';
import type { IStatefulSetSpec } from 'kubernetes-models/apps/v1/StatefulSetSpec';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IServiceSpec } from 'kubernetes-models/v1/ServiceSpec';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import { describe, expect, it } from 'vitest';
import type {
  ConfigMapObject,
  Container,
  PodSpec,
  ServiceObject,
  Volume,
  WorkloadObject,
} from '../../../src/deploy/kubernetes/index.ts';

/** Compiles only when A is assignable to B (TypeScript's own rule, optional fields included). */
type Assignable<A extends B, B> = [A, B];

/** Referenced below so the checks are part of the program; each line is one API type. */
type Checks = [
  Assignable<Container, IContainer>,
  Assignable<Volume, IVolume>,
  Assignable<PodSpec, IPodSpec>,
  Assignable<Omit<WorkloadObject['spec'], 'serviceName'>, IDeploymentSpec>,
  Assignable<Omit<WorkloadObject['spec'], 'strategy'>, IStatefulSetSpec>,
  Assignable<Omit<WorkloadObject['spec'], 'strategy' | 'serviceName' | 'replicas'>, IDaemonSetSpec>,
  Assignable<ServiceObject['spec'], IServiceSpec>,
  Assignable<Pick<ConfigMapObject, 'immutable' | 'data'>, Pick<IConfigMap, 'immutable' | 'data'>>,
];

describe('the rendered object types', () => {
  it('are assignable to the Kubernetes API types (checked by tsc --noEmit)', () => {
    const checks: Checks['length'] = 8;
    expect(checks).toBe(8);
  });
});
