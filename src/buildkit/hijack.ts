/**
 * The Docker engine hands its socket over to BuildKit's HTTP/2 after an `Upgrade: h2c` on `/grpc` (the
 * Control API) or `/session` (the engine calls back into us). The 101 answer shares its read with the first
 * HTTP/2 frame, so those bytes are pushed back into the socket before HTTP/2 takes it.
 */
import { request } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connectionOptions } from '../deploy/engine/client.js';
import { VnfpipeError } from '../errors.js';
import type { BuildkitAddress } from './address.js';

export function upgradeEngineSocket(
  address: Extract<BuildkitAddress, { kind: 'engine' }>,
  path: '/grpc' | '/session',
  headers: Record<string, string | string[]> = {},
): Promise<Socket> {
  // Over TLS or SSH the upgraded stream is a TLS socket or an SSH channel; HTTP/2 takes either.
  return new Promise((resolve, reject) => {
    const req = request({
      ...connectionOptions(address),
      method: 'POST',
      path,
      headers: { ...headers, Connection: 'Upgrade', Upgrade: 'h2c' },
    });
    req.on('upgrade', (_res, socket: Duplex, head) => {
      if (head.length > 0) socket.unshift(head);
      resolve(socket as Socket);
    });
    req.on('response', (res) => {
      res.resume();
      reject(
        new VnfpipeError(
          'ENGINE_UNREACHABLE',
          `the engine answered ${res.statusCode} to ${path}, not an upgrade`,
          {
            where: address.display,
            hint: 'BuildKit needs Docker Engine 18.09 or newer with BuildKit enabled',
          },
        ),
      );
    });
    req.on('error', (error) =>
      reject(
        error instanceof VnfpipeError
          ? error
          : new VnfpipeError('ENGINE_UNREACHABLE', `cannot reach the Docker engine: ${error.message}`, {
              where: address.display,
              hint: 'start dockerd, or point BUILDKIT_HOST / DOCKER_HOST at it',
              cause: error,
            }),
      ),
    );
    req.end();
  });
}
