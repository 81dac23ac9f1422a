/** Synthetic test images: a layered "app" image with distro and language packages. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES } from './fixtures.ts';
import { fakeGoBinary } from './go.ts';
import { gzLayer, makeTar, type TestEntry, writeLayout } from './oci.ts';

export const LANG_ENTRIES: TestEntry[] = [
  {
    path: 'app/node_modules/lodash/package.json',
    data: JSON.stringify({ name: 'lodash', version: '4.17.20', license: 'MIT' }),
  },
  {
    path: 'app/node_modules/@scope/pkg/package.json',
    data: JSON.stringify({ name: '@scope/pkg', version: '1.0.0' }),
  },
  { path: 'app/node_modules/lodash/test/package.json', data: '{not json' },
  {
    path: 'usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA',
    data: 'Metadata-Version: 2.1\nName: requests\nVersion: 2.28.1\nLicense: Apache 2.0\n\nbody: text\n',
  },
  {
    path: 'usr/local/bin/app',
    data: fakeGoBinary(
      'go1.21.1',
      'path\texample.com/app\nmod\texample.com/app\tv1.2.3\t\ndep\tgolang.org/x/net\tv0.15.0\th1:x=\n',
    ),
    mode: 0o755,
  },
];

/** Debian 12.0-era packages in layer 0; a tar upgrade, distroless status.d and language packages in layer 1. */
export function appImage(config: Record<string, unknown> = {}, tag = 'app'): string {
  const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-app-'));
  const status = readFileSync(join(FIXTURES, 'dpkg', 'status-bookworm-12.0-excerpt'), 'utf8');
  const statusV2 = status.replace('Version: 1.34+dfsg-1.2\n', 'Version: 1.34+dfsg-1.2+deb12u1\n');
  writeLayout(dir, {
    tag,
    config,
    layers: [
      gzLayer(
        makeTar([
          {
            path: 'usr/lib/os-release',
            data: 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
          },
          { path: 'etc/os-release', type: 'symlink', linkname: '../usr/lib/os-release' },
          { path: 'var/lib/dpkg/status', data: status },
        ]),
      ),
      gzLayer(
        makeTar([
          { path: 'var/lib/dpkg/status', data: statusV2 },
          {
            path: 'var/lib/dpkg/status.d/base',
            data: 'Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n',
          },
          { path: 'var/lib/dpkg/status.d/base.md5sums', data: 'abc  etc/x\n' },
          ...LANG_ENTRIES,
        ]),
      ),
    ],
  });
  return `oci:${dir}:${tag}`;
}

/** Language packages only (no distro). */
export function langImage(config: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-lang-'));
  writeLayout(dir, { tag: 'lang', config, layers: [gzLayer(makeTar(LANG_ENTRIES))] });
  return `oci:${dir}:lang`;
}
