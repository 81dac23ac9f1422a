/**
 * The workload's `files` as one immutable ConfigMap mounted file by file. The name carries a hash of the
 * contents: an immutable ConfigMap cannot change, so new contents are a new ConfigMap and a new rollout.
 */
import { sha256 } from '../../oci/digest.js';
import type { ConfigFileSpec } from '../model.js';
import type { Problems } from './problems.js';
import type { ConfigMapObject, Labels, Volume, VolumeMount } from './types.js';

export const FILES_VOLUME = 'files';
/** The API server stores an object in etcd, which refuses one above about 1 MiB. */
const CONFIGMAP_MAX_BYTES = 1024 * 1024;

export interface FilesPlan {
  configMap: ConfigMapObject;
  volume: Volume;
  mounts: VolumeMount[];
}

export function planFiles(
  workload: string,
  namespace: string,
  files: ConfigFileSpec[],
  labels: Labels,
  problems: Problems,
): FilesPlan | undefined {
  if (files.length === 0) return undefined;
  const bytes = files.reduce((sum, file) => sum + Buffer.byteLength(file.content ?? ''), 0);
  if (bytes > CONFIGMAP_MAX_BYTES) {
    problems.add(
      `files: ${bytes} bytes do not fit a ConfigMap (1 MiB); build the large files into the image`,
    );
  }
  // Keys must be [-._a-zA-Z0-9]; the position keeps two files with the same base name apart.
  const keys = files.map(
    (file, i) => `${i}-${(file.path.split('/').pop() ?? '').replace(/[^-._a-zA-Z0-9]/g, '_')}`,
  );
  const data: Record<string, string> = {};
  files.forEach((file, i) => {
    data[keys[i]!] = file.content;
  });
  const hash = sha256(JSON.stringify(data)).slice('sha256:'.length, 'sha256:'.length + 10);
  const name = `${workload}-files-${hash}`;
  return {
    configMap: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace, labels: { ...labels } },
      immutable: true,
      data,
    },
    volume: {
      name: FILES_VOLUME,
      configMap: {
        name,
        items: files.map((file, i) => ({
          key: keys[i]!,
          path: keys[i]!,
          ...(file.mode !== undefined ? { mode: file.mode } : {}),
        })),
      },
    },
    mounts: files.map((file, i) => ({
      name: FILES_VOLUME,
      mountPath: file.path,
      subPath: keys[i]!,
      readOnly: true,
    })),
  };
}
