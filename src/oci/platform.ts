/** Platforms (`linux/arm64/v8`) and choosing a manifest for one from an index. */
import { VnfpipeError } from '../errors.js';
import { asObject, asString, optString, optStringArray } from './validate.js';

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

export function parsePlatformValue(value: unknown, path: string, where: string | undefined): Platform {
  const object = asObject(value, path, where);
  const platform: Platform = {
    architecture: asString(object.architecture, `${path}.architecture`, where),
    os: asString(object.os, `${path}.os`, where),
  };
  const variant = optString(object.variant, `${path}.variant`, where);
  if (variant) platform.variant = variant;
  const osVersion = optString(object['os.version'], `${path}.os.version`, where);
  if (osVersion) platform['os.version'] = osVersion;
  const features = optStringArray(object['os.features'], `${path}.os.features`, where);
  if (features) platform['os.features'] = features;
  return platform;
}

/** Parses `os/arch[/variant]`, e.g. `linux/amd64`, `linux/arm64/v8`. */
export function parsePlatform(text: string): Platform {
  const [os, architecture, variant, ...rest] = text.split('/');
  if (!os || !architecture || rest.length > 0) {
    throw new VnfpipeError('USAGE', `invalid platform ${JSON.stringify(text)}`, {
      hint: 'write os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8',
    });
  }
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

const NODE_ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};

/** The platform of this machine in OCI terms. */
export function hostPlatform(): Platform {
  const architecture = NODE_ARCH[process.arch] ?? process.arch;
  return architecture === 'arm64'
    ? { os: 'linux', architecture, variant: 'v8' }
    : { os: 'linux', architecture };
}

/** Default variants, so `linux/arm64` matches an index entry `linux/arm64/v8` and the reverse. */
function normalisedVariant(platform: Platform): string | undefined {
  if (platform.variant) return platform.variant;
  if (platform.architecture === 'arm64') return 'v8';
  return undefined;
}

/** True when `candidate` can run where `wanted` is asked for (os, arch and variant equal after defaults). */
export function platformMatches(wanted: Platform, candidate: Platform | undefined): boolean {
  if (!candidate) return false;
  if (wanted.os !== candidate.os || wanted.architecture !== candidate.architecture) return false;
  const want = normalisedVariant(wanted);
  return want === undefined || want === normalisedVariant(candidate);
}

/** The platform as indexes usually spell it (`linux/arm64` → `linux/arm64/v8`, like docker and buildx). */
export function normalizePlatform(platform: Platform): Platform {
  const variant = normalisedVariant(platform);
  return variant ? { ...platform, variant } : { ...platform };
}
