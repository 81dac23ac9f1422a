/** The vfw rule file for a data-plane sink address. The faulty variant forwards to a port nobody listens on. */
export function vfwRules(sink: { ip: string; port: number }, faulty = false): string {
  return [
    '# vfw rules: first match wins',
    'reply ping pong',
    'drop BLOCKED',
    `forward ${sink.ip} ${faulty ? sink.port + 999 : sink.port}`,
    '',
  ].join('\n');
}
