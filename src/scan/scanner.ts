/**
 * One scan: stream the image's layers once, catalogue packages (with the layer that added each), run the
 * image checks, and match against the vulnerability store. Whatever could not be covered is returned as
 * a gap, so callers never report a partial scan as clean.
 */
import { VnfpipeError } from '../errors.js';
import type { ClientOptions } from '../registry/client.js';
import { APK_INSTALLED, apkPackage, parseApkInstalled } from './catalog/apk.js';
import {
  DPKG_STATUS,
  DPKG_STATUS_D,
  type DpkgEntry,
  dpkgKey,
  dpkgPackage,
  parseDpkgStatus,
} from './catalog/dpkg.js';
import { type GoBuildInfo, goBuildInfoSink, goPackages } from './catalog/gobin.js';
import { isNpmManifest, isPythonMetadata, npmPackage, pythonPackage } from './catalog/lang.js';
import { OS_RELEASE_PATHS, parseOsRelease } from './catalog/osrelease.js';
import { parseRpmDb, RPMDB_OTHER_PATHS, RPMDB_SQLITE_PATHS, rpmPackage } from './catalog/rpm.js';
import { type CheckOptions, runChecks, SecretWatcher, teeSinks } from './checks.js';
import type { VulnDb } from './db/store.js';
import type { FileNode } from './image/fsview.js';
import { openImage, type ScanImage } from './image/source.js';
import type { BodySink } from './image/tar.js';
import { DEFAULT_WALK_LIMITS, type WalkLimits, walkLayers } from './image/walk.js';
import type { CheckFinding, OsRelease, Package, ScanGap, VulnFinding } from './model.js';

export interface ScanOptions {
  /** The vulnerability database (a directory or an opened store); omit only with `skipVulnerabilities`. */
  db?: string | VulnDb;
  /** Catalogue and check only (SBOM output): no database needed. */
  skipVulnerabilities?: boolean;
  /** Bounds on what the layers may expand to; `maxTotalBytes` is the whole scan's budget. */
  limits?: Partial<WalkLimits>;
  checks?: CheckOptions;
  /** Credentials, TLS and retries when scanning a registry reference. */
  registry?: ClientOptions;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface ScanResult {
  image: {
    ref: string;
    digest: string;
    tag?: string;
    os?: OsRelease;
    architecture: string;
    layers: Array<{ index: number; digest: string; size: number; diffId?: string }>;
    size: number;
  };
  packages: Package[];
  vulnerabilities: VulnFinding[];
  checks: CheckFinding[];
  /** What the scan could not cover. Non-empty means the scan is partial (never reported as clean). */
  gaps: ScanGap[];
  db?: { dir: string; updatedAt: string; records: number };
  /** False when vulnerabilities were not looked up (SBOM-only scans). */
  vulnerabilitiesChecked: boolean;
}

const SMALL = 1024 * 1024;
const DPKG_MAX = 64 * 1024 * 1024;
const RPMDB_MAX = 512 * 1024 * 1024;

type FileKind = 'dpkg' | 'dpkg-d' | 'apk' | 'rpm' | 'os-release' | 'npm' | 'python';

function classify(path: string): FileKind | undefined {
  if (path === DPKG_STATUS) return 'dpkg';
  if (
    path.startsWith(DPKG_STATUS_D) &&
    !path.endsWith('.md5sums') &&
    !path.slice(DPKG_STATUS_D.length).includes('/')
  )
    return 'dpkg-d';
  if (path === APK_INSTALLED) return 'apk';
  if (RPMDB_SQLITE_PATHS.includes(path)) return 'rpm';
  if (OS_RELEASE_PATHS.includes(path)) return 'os-release';
  if (path.endsWith('/package.json') && isNpmManifest(path)) return 'npm';
  if ((path.endsWith('/METADATA') || path.endsWith('/PKG-INFO')) && isPythonMetadata(path)) return 'python';
  return undefined;
}

interface Collected {
  layer: number;
  kind: FileKind;
  data: Buffer;
}

function collectSink(max: number, onDone: (data: Buffer) => void, onTooBig: () => void): BodySink {
  const parts: Buffer[] = [];
  let size = 0;
  let over = false;
  return {
    data(chunk) {
      if (over) return;
      size += chunk.length;
      if (size > max) {
        over = true;
        parts.length = 0;
        return;
      }
      parts.push(Buffer.from(chunk));
    },
    end() {
      if (over) onTooBig();
      else onDone(Buffer.concat(parts));
    },
  };
}

function sortPackages(packages: Package[]): Package[] {
  return packages.sort((a, b) =>
    a.type !== b.type
      ? a.type < b.type
        ? -1
        : 1
      : a.name !== b.name
        ? a.name < b.name
          ? -1
          : 1
        : a.version < b.version
          ? -1
          : a.version > b.version
            ? 1
            : a.foundIn < b.foundIn
              ? -1
              : 1,
  );
}

export async function scanImage(ref: string, options: ScanOptions = {}): Promise<ScanResult> {
  const image = await openImage(ref, {
    ...(options.registry ? { registry: options.registry } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  try {
    return await scanOpenedImage(image, options);
  } finally {
    await image.close();
  }
}

export async function scanOpenedImage(image: ScanImage, options: ScanOptions = {}): Promise<ScanResult> {
  const limits: WalkLimits = { ...DEFAULT_WALK_LIMITS, ...options.limits };
  let db: VulnDb | undefined;
  if (!options.skipVulnerabilities) {
    if (options.db === undefined) {
      throw new VnfpipeError('USAGE', 'no vulnerability database given', {
        hint: 'pass --db <dir> (create it with `vnfpipe db import`), or ask for an SBOM only',
      });
    }
    if (typeof options.db === 'string') {
      const { VulnDb } = await import('./db/store.js');
      db = await VulnDb.open(options.db);
    } else db = options.db;
  }
  const layerDigests = image.layers.map((l) => l.digest);
  const gaps = new Map<string, ScanGap>();
  const gap = (what: string, where?: string) =>
    gaps.set(`${what}\0${where}`, where === undefined ? { what } : { what, where });
  // Keyed by layer and path: a path rewritten by a later layer keeps each layer's bytes apart.
  const files = new Map<string, Collected & { path: string }>();
  const fileKey = (layer: number, path: string) => `${layer}\0${path}`;
  const dpkgByLayer: Array<{ layer: number; entries: DpkgEntry[] }> = [];
  const goInfos = new Map<string, { path: string; layer: number; info: GoBuildInfo }>();
  const secrets = new SecretWatcher();
  let layerWrites: Array<{ path: string; kind: FileKind }> = [];

  const view = await walkLayers(
    image.layers,
    {
      entry(node: FileNode): BodySink | undefined {
        if (node.kind !== 'file') return undefined;
        const digest = layerDigests[node.layer]!;
        const where = `layer ${node.layer} ${digest}: ${node.path}`;
        let sink: BodySink | undefined;
        const kind = classify(node.path);
        if (kind) {
          const max =
            kind === 'rpm'
              ? RPMDB_MAX
              : kind === 'dpkg' || kind === 'apk' || kind === 'dpkg-d'
                ? DPKG_MAX
                : SMALL;
          sink = collectSink(
            max,
            (data) => {
              files.set(fileKey(node.layer, node.path), { path: node.path, layer: node.layer, kind, data });
              layerWrites.push({ path: node.path, kind });
            },
            () => gap(`${node.path} is larger than ${max} bytes; not read`, where),
          );
        } else if (RPMDB_OTHER_PATHS.includes(node.path)) {
          gap(
            'rpm Berkeley DB / ndb databases are not supported yet (only rpmdb.sqlite): rpm packages were not catalogued',
            where,
          );
        } else if (node.size > 0 && RPMDB_SQLITE_PATHS.some((p) => node.path === `${p}-wal`)) {
          gap('rpmdb.sqlite has an uncheckpointed write-ahead log; packages in it were not read', where);
        } else if (node.mode & 0o111 && node.size > 4096) {
          sink = goBuildInfoSink(
            (info) =>
              goInfos.set(fileKey(node.layer, node.path), { path: node.path, layer: node.layer, info }),
            () =>
              gap(
                'Go binary built before Go 1.18 (or with unreadable build info): its modules were not catalogued',
                where,
              ),
          );
        }
        return teeSinks(sink, secrets.sink(node, digest));
      },
      repeated(layer, first) {
        // Same blob as layer `first`: same bytes, now written (again) by this layer.
        for (const c of [...files.values()])
          if (c.layer === first) {
            files.set(fileKey(layer.index, c.path), { ...c, layer: layer.index });
            layerWrites.push({ path: c.path, kind: c.kind });
          }
        for (const g of [...goInfos.values()])
          if (g.layer === first) goInfos.set(fileKey(layer.index, g.path), { ...g, layer: layer.index });
      },
      layerDone(layer) {
        // Attribute dpkg packages to the first layer whose status file lists them.
        const status = layerWrites.find((w) => w.kind === 'dpkg');
        if (status) {
          const collected = files.get(fileKey(layer.index, status.path))!;
          dpkgByLayer.push({
            layer: layer.index,
            entries: parseDpkgStatus(
              collected.data.toString('utf8'),
              `layer ${layer.index} ${layer.digest}: ${status.path}`,
            ),
          });
        }
        layerWrites = [];
      },
    },
    limits,
    options.signal,
  );

  const finalFile = (path: string): Collected | undefined => {
    const node = view.get(path);
    return node?.kind === 'file' ? files.get(fileKey(node.layer, path)) : undefined;
  };

  // OS release.
  let os: OsRelease | undefined;
  for (const path of OS_RELEASE_PATHS) {
    const real = view.realPath(path);
    const file = real ? finalFile(real) : undefined;
    if (file) {
      os = parseOsRelease(file.data.toString('utf8'));
      if (os) break;
    }
  }

  const packages: Package[] = [];
  const pathWhere = (c: Collected, path: string) => `layer ${c.layer} ${layerDigests[c.layer]}: ${path}`;
  const guard = (where: string, fn: () => void) => {
    try {
      fn();
    } catch (error) {
      if (!(error instanceof VnfpipeError)) throw error;
      gap(`could not read package data: ${error.message}`, where);
    }
  };

  // dpkg: the final status file, each package attributed to the layer that first listed it.
  const status = finalFile(DPKG_STATUS);
  if (status) {
    guard(pathWhere(status, DPKG_STATUS), () => {
      const firstLayer = new Map<string, number>();
      for (const { layer, entries } of dpkgByLayer)
        for (const e of entries) if (!firstLayer.has(dpkgKey(e))) firstLayer.set(dpkgKey(e), layer);
      for (const e of parseDpkgStatus(status.data.toString('utf8'), pathWhere(status, DPKG_STATUS))) {
        const layer = firstLayer.get(dpkgKey(e)) ?? status.layer;
        packages.push(dpkgPackage(e, os, `/${DPKG_STATUS}`, layer, layerDigests[layer]!));
      }
    });
  }
  for (const c of files.values()) {
    const path = c.path;
    if (finalFile(path) !== c) continue;
    const where = pathWhere(c, path);
    const digest = layerDigests[c.layer]!;
    guard(where, () => {
      if (c.kind === 'dpkg-d') {
        for (const e of parseDpkgStatus(c.data.toString('utf8'), where))
          packages.push(dpkgPackage(e, os, `/${path}`, c.layer, digest));
      } else if (c.kind === 'apk') {
        for (const e of parseApkInstalled(c.data.toString('utf8'), where))
          packages.push(apkPackage(e, os, `/${path}`, c.layer, digest));
      } else if (c.kind === 'rpm') {
        for (const e of parseRpmDb(c.data, where))
          packages.push(rpmPackage(e, os, `/${path}`, c.layer, digest));
      } else if (c.kind === 'npm') {
        const p = npmPackage(c.data.toString('utf8'), `/${path}`, c.layer, digest);
        if (p) packages.push(p);
      } else if (c.kind === 'python') {
        const p = pythonPackage(c.data.toString('utf8'), `/${path}`, c.layer, digest);
        if (p) packages.push(p);
      }
    });
  }
  for (const { path, layer, info } of goInfos.values()) {
    const node = view.get(path);
    if (node?.layer === layer) packages.push(...goPackages(info, `/${path}`, layer, layerDigests[layer]!));
  }
  sortPackages(packages);

  const size = image.layers.reduce((sum, l) => sum + l.size, 0);
  const checks = runChecks(
    { view, config: image.config, tag: image.tag, layerDigests, imageBytes: size, secrets },
    options.checks,
  );

  let vulnerabilities: VulnFinding[] = [];
  if (db) {
    const { matchPackages } = await import('./match.js');
    const matched = await matchPackages(packages, os, db);
    vulnerabilities = matched.findings;
    for (const g of matched.gaps) gap(g.what, g.where);
    if (packages.length > 0 && !os && packages.some((p) => p.type === 'deb' || p.type === 'apk')) {
      gap('no os-release found: distro packages cannot be matched to a release');
    }
  }

  const result: ScanResult = {
    image: {
      ref: image.ref,
      digest: image.digest,
      architecture: image.config.architecture,
      layers: image.layers.map((l) => ({
        index: l.index,
        digest: l.digest,
        size: l.size,
        ...(l.diffId ? { diffId: l.diffId } : {}),
      })),
      size,
    },
    packages,
    vulnerabilities,
    checks,
    gaps: [...gaps.values()],
    vulnerabilitiesChecked: db !== undefined,
  };
  if (image.tag) result.image.tag = image.tag;
  if (os) result.image.os = os;
  if (db) result.db = { dir: db.dir, updatedAt: db.meta.updatedAt, records: db.meta.records };
  return result;
}
