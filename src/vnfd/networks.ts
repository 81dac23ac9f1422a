/** A VDU's connection points as workload networks, in interface order. */
import type { NetworkAttachment } from '../deploy/model.js';
import { type ImportContext, ids, list, num, safeName } from './context.js';
import { identity, isObject, type JsonObject, vnfdError } from './document.js';

/**
 * The VDU's internal CPDs in interface order (`order`, else as listed). A CPD on an internal virtual link
 * gets that link's subnet and gateway from the flavour's virtual-link-profile; a CPD exposed by an ext-cpd
 * joins an external network named after the ext-cpd.
 */
export function networks(
  ctx: ImportContext,
  vdu: JsonObject,
  vduPath: string,
  df: JsonObject,
  dfPath: string,
  vduId: string,
): NetworkAttachment[] {
  const links = list(ctx.vnfd['int-virtual-link-desc']);
  const cpds = list(vdu['int-cpd'])
    .map((cpd, position) => ({ cpd, position, order: num(cpd.order) }))
    .sort(
      (a, b) =>
        (a.order ?? Number.MAX_SAFE_INTEGER) - (b.order ?? Number.MAX_SAFE_INTEGER) ||
        a.position - b.position,
    );
  const exposed = new Map<string, string>();
  for (const ext of list(ctx.vnfd['ext-cpd'])) {
    const extPath = ctx.entry('ext-cpd', String(ext.id));
    const target = isObject(ext['int-cpd']) ? ext['int-cpd'] : undefined;
    if (!target) {
      if (typeof ext['int-virtual-link-desc'] === 'string') {
        ctx.cov.explain(extPath, 'exposes an internal virtual link: its network is the workload’s own');
      }
      continue;
    }
    const cpdId = String(target.cpd);
    if (target['vdu-id'] !== vduId) {
      if (!list(ctx.vnfd.vdu).some((v) => v.id === target['vdu-id'])) {
        throw vnfdError(
          `ext-cpd points at unknown VDU '${String(target['vdu-id'])}'`,
          ctx.where(`${extPath}/int-cpd/vdu-id`),
        );
      }
      continue;
    }
    if (!list(vdu['int-cpd']).some((c) => c.id === cpdId)) {
      throw vnfdError(
        `ext-cpd points at unknown int-cpd '${cpdId}' of VDU '${vduId}'`,
        ctx.where(`${extPath}/int-cpd/cpd`),
      );
    }
    const cpd = list(vdu['int-cpd']).find((c) => c.id === cpdId);
    if (typeof cpd?.['int-virtual-link-desc'] === 'string') {
      ctx.cov.explain(extPath, 'exposes a cpd on an internal virtual link: the link’s network is used');
      continue;
    }
    exposed.set(cpdId, String(ext.id));
    ctx.cov.use(`${extPath}/id`);
    ctx.cov.use(`${extPath}/int-cpd`);
    ctx.cov.use(`${extPath}/layer-protocol`);
  }
  const profiles = list(df['virtual-link-profile']);
  const roles = new Set<string>();
  return cpds.map(({ cpd, order }) => {
    const cpdId = String(cpd.id);
    const cpdPath = ctx.entry('int-cpd', cpdId, vduPath);
    ctx.cov.use(`${cpdPath}/id`);
    if (order !== undefined) ctx.cov.use(`${cpdPath}/order`);
    for (const leaf of ['layer-protocol', 'role']) ctx.cov.use(`${cpdPath}/${leaf}`);
    const role = safeName(cpdId);
    if (roles.has(role)) throw vnfdError(`two int-cpds map to interface role '${role}'`, ctx.where(cpdPath));
    roles.add(role);
    const net: NetworkAttachment = { role };
    const vnic = identity(cpd['vnic-type']);
    if (vnic === 'normal' || vnic === 'virtio') ctx.cov.use(`${cpdPath}/vnic-type`);
    else if (vnic)
      ctx.cov.explain(
        `${cpdPath}/vnic-type`,
        `vnic-type '${vnic}' needs host devices the VNFD does not name`,
      );

    const linkId = cpd['int-virtual-link-desc'];
    const ext = exposed.get(cpdId);
    if (typeof linkId === 'string') {
      if (!links.some((l) => l.id === linkId)) {
        throw vnfdError(
          `int-cpd '${cpdId}' points at unknown int-virtual-link-desc '${linkId}'`,
          ctx.where(`${cpdPath}/int-virtual-link-desc`),
          `virtual links: ${ids(links) || '(none)'}`,
        );
      }
      ctx.cov.use(`${cpdPath}/int-virtual-link-desc`);
      const linkPath = ctx.entry('int-virtual-link-desc', linkId);
      ctx.cov.use(`${linkPath}/id`);
      ctx.cov.use(`${linkPath}/connectivity-type`);
      ctx.cov.use(`${linkPath}/flavour`);
      // The network keeps its default name (`<workload>-<position>-<role>`): engines that order interfaces
      // by network name then keep the int-cpd order. Name it in the pipeline to share it between VDUs.
      const profile = profiles.find((p) => p.id === linkId);
      if (profile) linkProfile(ctx, profile, `${dfPath}/virtual-link-profile[id='${linkId}']`, net);
    } else if (ext) {
      net.name = ext;
      net.external = true;
    }
    const ip = fixedIp(ctx, cpd, cpdPath);
    if (ip) net.ip = ip;
    return net;
  });
}

function linkProfile(ctx: ImportContext, profile: JsonObject, path: string, net: NetworkAttachment): void {
  ctx.cov.use(`${path}/id`);
  ctx.cov.use(`${path}/flavour`);
  const data = isObject(profile['virtual-link-protocol-data']) ? profile['virtual-link-protocol-data'] : {};
  const l3 = isObject(data['l3-protocol-data']) ? data['l3-protocol-data'] : undefined;
  if (!l3) return;
  const l3Path = `${path}/virtual-link-protocol-data/l3-protocol-data`;
  if (l3['ip-version'] !== undefined && l3['ip-version'] !== 'ipv4') {
    ctx.cov.explain(l3Path, 'the workload model has IPv4 subnets only');
    return;
  }
  ctx.cov.use(`${path}/virtual-link-protocol-data/associated-layer-protocol`);
  ctx.cov.use(`${l3Path}/ip-version`);
  if (typeof l3.cidr === 'string') {
    net.subnet = l3.cidr;
    ctx.cov.use(`${l3Path}/cidr`);
  }
  if (typeof l3['gateway-ip'] === 'string') {
    net.gateway = l3['gateway-ip'];
    ctx.cov.use(`${l3Path}/gateway-ip`);
  }
  if (l3['dhcp-enabled'] === false) ctx.cov.use(`${l3Path}/dhcp-enabled`);
}

function fixedIp(ctx: ImportContext, cpd: JsonObject, cpdPath: string): string | undefined {
  for (const protocol of list(cpd.protocol)) {
    const protoPath = `${cpdPath}/protocol[associated-layer-protocol='${String(protocol['associated-layer-protocol'])}']`;
    for (const address of list(protocol['address-data'])) {
      const l3 = address['l3-address-data'];
      if (!isObject(l3) || typeof l3['fixed-ip-address'] !== 'string') continue;
      const l3Path = `${protoPath}/address-data[type='${String(address.type)}']/l3-address-data`;
      ctx.cov.use(`${protoPath}/associated-layer-protocol`);
      ctx.cov.use(`${protoPath}/address-data[type='${String(address.type)}']/type`);
      ctx.cov.use(`${l3Path}/fixed-ip-address`);
      ctx.cov.use(`${l3Path}/ip-address-assignment`);
      if (l3['floating-ip-activated'] === false) ctx.cov.use(`${l3Path}/floating-ip-activated`);
      return l3['fixed-ip-address'];
    }
  }
  return undefined;
}
