/** Package URLs (github.com/package-url/purl-spec): `pkg:type/namespace/name@version?qualifiers`. */

/** Percent-encodes a purl component, keeping the characters the spec leaves readable. */
function encode(text: string, keep: RegExp): string {
  let out = '';
  for (const ch of text) out += keep.test(ch) ? ch : encodeURIComponent(ch);
  return out;
}

const NAME_SAFE = /[A-Za-z0-9.\-_~]/;
// Versions keep ':' and '+' readable (`1:2.38.1-5+deb12u3`), as distro purls are commonly written.
const VERSION_SAFE = /[A-Za-z0-9.\-_~:+]/;

export function purl(
  type: string,
  namespace: string | undefined,
  name: string,
  version: string | undefined,
  qualifiers: Record<string, string | undefined> = {},
): string {
  let out = `pkg:${type}/`;
  if (namespace)
    out += `${namespace
      .split('/')
      .map((part) => encode(part, NAME_SAFE))
      .join('/')}/`;
  out += encode(name, NAME_SAFE);
  if (version) out += `@${encode(version, VERSION_SAFE)}`;
  const keys = Object.keys(qualifiers)
    .filter((k) => qualifiers[k])
    .sort();
  if (keys.length) out += `?${keys.map((k) => `${k}=${encode(qualifiers[k]!, VERSION_SAFE)}`).join('&')}`;
  return out;
}
