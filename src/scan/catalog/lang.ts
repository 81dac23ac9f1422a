/** Language packages found by their manifests: npm `node_modules/<name>/package.json`, Python `<name>.dist-info/METADATA`. */
import type { Package } from '../model.js';
import { purl } from '../purl.js';
import { parseHeaders } from './control.js';

const NPM_MANIFEST = /(?:^|\/)node_modules\/(?:@[^/]+\/)?[^/@.][^/]*\/package\.json$/;
const PYTHON_METADATA = /(?:^|\/)[^/]+\.dist-info\/METADATA$|(?:^|\/)[^/]+\.egg-info\/PKG-INFO$/;

export function isNpmManifest(path: string): boolean {
  return NPM_MANIFEST.test(path);
}

export function isPythonMetadata(path: string): boolean {
  return PYTHON_METADATA.test(path);
}

function stringField(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length < 512 ? value : undefined;
}

/** A package.json in node_modules; undefined (not an error) when it is not a published package's manifest. */
export function npmPackage(
  text: string,
  path: string,
  layer: number,
  layerDigest: string,
): Package | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined; // test fixtures inside packages are sometimes invalid JSON: not a package
  }
  if (typeof json !== 'object' || json === null) return undefined;
  const object = json as Record<string, unknown>;
  const name = stringField(object.name);
  const version = stringField(object.version);
  if (!name || !version) return undefined;
  const scoped = name.startsWith('@') ? name.slice(0, name.indexOf('/')) : undefined;
  const bare = scoped ? name.slice(scoped.length + 1) : name;
  const pkg: Package = {
    type: 'npm',
    name,
    version,
    purl: purl('npm', scoped, bare, version),
    foundIn: path,
    layer,
    layerDigest,
  };
  const license = stringField(object.license);
  if (license) pkg.licenses = [license];
  return pkg;
}

/** PEP 503 normalised name, used by PyPI purls and OSV records. */
export function normalizePythonName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

export function pythonPackage(
  text: string,
  path: string,
  layer: number,
  layerDigest: string,
): Package | undefined {
  const headers = parseHeaders(text, path);
  const name = headers.get('name');
  const version = headers.get('version');
  if (!name || !version) return undefined;
  const pkg: Package = {
    type: 'pypi',
    name,
    version,
    purl: purl('pypi', undefined, normalizePythonName(name), version),
    foundIn: path,
    layer,
    layerDigest,
  };
  const license = headers.get('license-expression') ?? headers.get('license');
  if (license && license.length < 200 && !license.includes('\n')) pkg.licenses = [license];
  return pkg;
}
