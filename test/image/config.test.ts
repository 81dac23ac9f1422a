import { describe, expect, it } from 'vitest';
import { composeConfig, isoTime } from '../../src/image/config.js';
import type { ImageConfig } from '../../src/oci/config.js';

const base: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  rootfs: { type: 'layers', diff_ids: [`sha256:${'a'.repeat(64)}`] },
  config: {
    Env: ['PATH=/bin', 'A=1'],
    Cmd: ['/bin/sh'],
    Labels: { keep: 'yes', over: 'old' },
    ExposedPorts: { '22/tcp': {} },
  },
  history: [{ created_by: 'base' }],
};

describe('image config', () => {
  it('applies runtime settings over the base like a Dockerfile would', () => {
    const config = composeConfig({
      base,
      spec: {
        entrypoint: ['/vfw'],
        env: { A: '2', B: '3' },
        workingDir: '/srv',
        user: '1000:1000',
        exposedPorts: [8080, '5000/udp'],
        labels: { over: 'new' },
        stopSignal: 'SIGINT',
        volumes: ['/data'],
        healthcheck: { test: 'wget -q localhost:8080', intervalMs: 5000, retries: 3 },
      },
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
      created: isoTime(0),
      diffIds: [`sha256:${'b'.repeat(64)}`],
      history: [{ created_by: 'layer' }],
    });
    expect(config.created).toBe('1970-01-01T00:00:00Z');
    expect([config.architecture, config.variant]).toEqual(['arm64', 'v8']);
    const c = config.config!;
    expect(c.Entrypoint).toEqual(['/vfw']);
    expect(c.Cmd).toBeUndefined(); // the base's CMD belonged to the base's entrypoint
    expect(c.Env).toEqual(['PATH=/bin', 'A=2', 'B=3']);
    expect(c.ExposedPorts).toEqual({ '22/tcp': {}, '8080/tcp': {}, '5000/udp': {} });
    expect(c.Labels).toEqual({ keep: 'yes', over: 'new' });
    expect([c.WorkingDir, c.User, c.StopSignal]).toEqual(['/srv', '1000:1000', 'SIGINT']);
    expect(c.Volumes).toEqual({ '/data': {} });
    expect(c.Healthcheck).toEqual({
      Test: ['CMD-SHELL', 'wget -q localhost:8080'],
      Interval: 5e9,
      Retries: 3,
    });
    expect(config.rootfs.diff_ids).toHaveLength(2);
    expect(config.history?.map((h) => h.created_by)).toEqual(['base', 'layer']);
  });

  it('keeps the base CMD when only CMD changes, and refuses bad ports and env names', () => {
    const common = {
      base,
      platform: { os: 'linux', architecture: 'amd64' },
      created: isoTime(0),
      diffIds: [],
      history: [],
    };
    expect(composeConfig({ ...common, spec: {} }).config?.Cmd).toEqual(['/bin/sh']);
    expect(composeConfig({ ...common, spec: { cmd: ['-x'] } }).config?.Cmd).toEqual(['-x']);
    expect(() => composeConfig({ ...common, spec: { exposedPorts: ['80/http'] } })).toThrow(/invalid port/);
    expect(() => composeConfig({ ...common, spec: { exposedPorts: [70000] } })).toThrow(/invalid port/);
    expect(() => composeConfig({ ...common, spec: { env: { 'A=B': '1' } } })).toThrow(/environment variable/);
  });
});
