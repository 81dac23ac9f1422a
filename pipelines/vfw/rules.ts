/**
 * The vfw rule file. `data` is vfw's address on the data network: only datagrams sent to it are forwarded.
 * Faults, for rollback demonstrations and probe tests: `port` forwards to a port nobody listens on; `leak`
 * forgets the data address, so management traffic enters the data plane; `gtpu` relays every TEID;
 * `pfcp` leaves out the PFCP responder.
 */
export type VfwFault = 'port' | 'leak' | 'gtpu' | 'pfcp';

export interface VfwPlan {
  sink: { ip: string; port: number };
  /** vfw's own address on the data network it receives on. */
  data?: string;
  /** GTP-U relay: allowed TEIDs and the peer that gets their G-PDUs. */
  gtpu?: { teids: number[]; peer: { ip: string; port: number } };
  /** PFCP responder port (on management). */
  pfcp?: number;
}

export function vfwRules(plan: VfwPlan, faults: VfwFault[] = []): string {
  const has = (fault: VfwFault) => faults.includes(fault);
  return [
    '# vfw rules: first match wins',
    'reply ping pong',
    'drop BLOCKED',
    ...(plan.data && !has('leak') ? [`data ${plan.data}`] : []),
    `forward ${plan.sink.ip} ${has('port') ? plan.sink.port + 999 : plan.sink.port}`,
    ...(plan.gtpu
      ? [
          ...(has('gtpu') ? ['gtpu-allow any'] : plan.gtpu.teids.map((teid) => `gtpu-allow ${teid}`)),
          `gtpu-forward ${plan.gtpu.peer.ip} ${plan.gtpu.peer.port}`,
        ]
      : []),
    ...(plan.pfcp && !has('pfcp') ? [`pfcp ${plan.pfcp}`] : []),
    '',
  ].join('\n');
}

/** `VFW_FAULT`: `1` (the wrong forward port, as before) or a comma-separated list of faults. */
export function faultsFrom(value: string | undefined): VfwFault[] {
  if (!value) return [];
  if (value === '1') return ['port'];
  const known: VfwFault[] = ['port', 'leak', 'gtpu', 'pfcp'];
  return value.split(',').map((f) => {
    if (!known.includes(f as VfwFault))
      throw new Error(`VFW_FAULT: unknown fault '${f}' (known: 1, ${known.join(', ')})`);
    return f as VfwFault;
  });
}
