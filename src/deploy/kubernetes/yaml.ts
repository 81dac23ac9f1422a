/** Rendered objects as one multi-document YAML stream, for `kubectl apply -f` and review. */
import { stringify } from 'yaml';
import type { KubeObject } from './types.js';

export function toYaml(objects: KubeObject[]): string {
  // lineWidth 0: never fold long strings such as the Multus annotation's JSON; no anchors and aliases
  // for repeated label maps, which reviewers and some tools read badly.
  return objects
    .map((object) => `---\n${stringify(object, { lineWidth: 0, aliasDuplicateObjects: false })}`)
    .join('');
}
