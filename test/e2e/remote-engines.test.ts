/**
 * The example pipeline (vnfpipe.config.ts) deployed, verified and rolled back on remote engines, each a real
 * extra dockerd: through TLS tcp:// (DOCKER_TLS_VERIFY + DOCKER_CERT_PATH), through ssh:// (a real sshd and
 * `docker system dial-stdio`), and through a docker context (TLS material in the contexts store). The CLI
 * reads the same history with --engine / --context.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TargetAddress } from '../../src/deploy/target.js';
import { openTarget } from '../../src/deploy/targets.js';
import { requireDocker } from '../support/docker.js';
import { type ExtraEngine, startExtraEngine } from '../support/extra-engine.js';
import { makeProject, type Project, REPO_ROOT } from '../support/project.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import {
  makeCa,
  startSshd,
  startTlsEngine,
  type TestSshd,
  type TlsEngine,
  writeDockerContext,
} from '../support/remote-engines.js';
import { freePrefix16 } from '../support/subnets.js';

const id = process.pid.toString(36);

interface Case {
  project: Project;
  name: string;
  env: Record<string, string>;
  address: TargetAddress;
  engine: ExtraEngine;
}

describe('example VNF pipeline on remote engines', { timeout: 600_000 }, () => {
  let registry: TestRegistry;
  let tls: TlsEngine;
  let behindSsh: ExtraEngine;
  let sshd: TestSshd;
  const dockerConfig = mkdtempSync(join(tmpdir(), 'vnfpipe-e2e-docker-config-'));
  const cases: Case[] = [];

  beforeAll(async () => {
    requireDocker();
    registry = await startRegistry();
    tls = await startTlsEngine();
    behindSsh = await startExtraEngine();
    sshd = await startSshd(behindSsh);
    writeDockerContext(dockerConfig, 'e2e-site', {
      host: tls.host,
      tls: { ca: tls.ca.ca, cert: tls.ca.clientCert, key: tls.ca.clientKey },
    });
  }, 180_000);
  afterAll(async () => {
    for (const { project, name, env, address } of cases) {
      const target = await openTarget(
        { stateDir: join(project.dir, '.vnfpipe'), env: { ...process.env, ...env }, cwd: project.dir },
        address,
      );
      await target
        .destroy({ name, image: 'x', networks: [{ role: 'mgmt' }, { role: 'in' }, { role: 'out' }] })
        .catch(() => {});
    }
    await sshd?.stop();
    await behindSsh?.stop();
    await tls?.engine.stop();
    await registry?.stop();
  }, 120_000);

  /** A copy of the example project aimed at one engine, with its own workload name and free networks. */
  const copy = (label: string, engine: ExtraEngine, env: Record<string, string>, address: TargetAddress) => {
    const project = makeProject();
    cpSync(join(REPO_ROOT, 'vnfpipe.config.ts'), join(project.dir, 'vnfpipe.config.ts'));
    cpSync(join(REPO_ROOT, 'pipelines', 'vfw'), join(project.dir, 'pipelines', 'vfw'), { recursive: true });
    const name = `vfw-remote-${label}-${id}`;
    const made: Case = {
      project,
      name,
      env: { VFW_NAME: name, VFW_NET: freePrefix16([1, 2, 3]), VNFPIPE_REGISTRY: registry.host, ...env },
      address,
      engine,
    };
    cases.push(made);
    return made;
  };

  // The three engines' pipelines run at once (each its own workload, networks and engine connection): they
  // mostly wait on the engines and the probes, and one after another they were the longest file of the suite.

  /** Deploy + verify, then a faulty version that verify fails and rollback restores; all on `engine`. */
  async function deployVerifyRollback(c: Case, engineArgs: string[]) {
    const first = await c.project.cli(['run'], { env: c.env, timeoutMs: 240_000 });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toMatch(/✔ verify ok/);
    // It runs on the remote engine, not on the main one.
    expect(c.engine.docker(['ps', '--format', '{{.Names}}']).split('\n')).toContain(`${c.name}-r1`);

    const faulty = await c.project.cli(['run'], { env: { ...c.env, VFW_FAULT: '1' }, timeoutMs: 240_000 });
    expect(faulty.code, faulty.stdout + faulty.stderr).toBe(1);
    expect(faulty.stdout).toMatch(/✖ verify failed/);
    expect(faulty.stdout).toMatch(/\[rollback\] pass traffic in→out delivered: 5 sent .* 5 arrived/);
    expect(faulty.stdout).toMatch(/✔ rollback ok/);

    const history = await c.project.cli(['history', c.name, '--json', ...engineArgs], { env: c.env });
    expect(history.code, history.stderr).toBe(0);
    const rows = JSON.parse(history.stdout).revisions.map(
      (r: { revision: number; status: string; state: string }) => [r.revision, r.status, r.state],
    );
    expect(rows).toEqual([
      [1, 'verified', 'running'],
      [2, 'rolled-back', 'removed'],
    ]);
    expect(c.engine.docker(['ps', '--format', '{{.Names}}']).split('\n')).toContain(`${c.name}-r1`);
  }

  it.concurrent('through a TLS tcp:// engine (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH)', async () => {
    const env = { VFW_ENGINE: tls.host, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: tls.certPath };
    const c = copy('tls', tls.engine, env, { kind: 'docker', engine: tls.host });
    await deployVerifyRollback(c, ['--engine', tls.host]);

    // The client material is right, the CA is not the one that signed the engine's certificate.
    const wrongCa = await c.project.cli(['history', c.name, '--engine', tls.host], {
      env: { ...c.env, DOCKER_CERT_PATH: wrongCaCertPath(tls) },
    });
    expect(wrongCa.code).toBe(1);
    expect(wrongCa.stderr).toMatch(/TLS certificate is not trusted/);
    expect(wrongCa.stderr).toContain(tls.host);
  });

  it.concurrent('through an ssh:// engine (docker system dial-stdio)', async () => {
    const env = {
      VFW_ENGINE: sshd.host,
      VNFPIPE_SSH_KEY: sshd.clientKey,
      VNFPIPE_SSH_KNOWN_HOSTS: sshd.knownHosts,
    };
    const c = copy('ssh', behindSsh, env, { kind: 'docker', engine: sshd.host });
    await deployVerifyRollback(c, ['--engine', sshd.host]);
  });

  it.concurrent('through a docker context', async () => {
    const env = { VFW_CONTEXT: 'e2e-site', DOCKER_CONFIG: dockerConfig };
    const c = copy('context', tls.engine, env, { kind: 'docker', context: 'e2e-site' });
    await deployVerifyRollback(c, ['--context', 'e2e-site']);
  });

  it('names an unknown context, exit 2', async () => {
    const project = makeProject();
    const result = await project.cli(['history', 'vfw', '--context', 'no-such-site'], {
      env: { DOCKER_CONFIG: dockerConfig },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/docker context 'no-such-site' does not exist/);
  });
});

function wrongCaCertPath(tls: TlsEngine): string {
  const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-wrong-ca-'));
  writeFileSync(join(dir, 'ca.pem'), readFileSync(makeCa().ca));
  writeFileSync(join(dir, 'cert.pem'), readFileSync(tls.ca.clientCert));
  writeFileSync(join(dir, 'key.pem'), readFileSync(tls.ca.clientKey));
  return dir;
}
