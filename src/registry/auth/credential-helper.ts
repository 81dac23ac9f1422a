/**
 * Docker credential helpers: `docker-credential-<name> get|store|erase`, the server URL or a JSON record on
 * stdin, JSON on stdout. Helper output is never put into errors (it may hold secrets).
 */
import { spawn } from 'node:child_process';
import { VnfpipeError } from '../../errors.js';

export interface HelperCredentials {
  username: string;
  secret: string;
}

const NOT_FOUND = /credentials not found/i;

function runHelper(
  helper: string,
  action: 'get' | 'store' | 'erase',
  input: string,
  env?: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string }> {
  const program = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    const child = spawn(program, [action], { stdio: ['pipe', 'pipe', 'ignore'], env: env ?? process.env });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new VnfpipeError('USAGE', `cannot run credential helper ${program} (${error.code ?? 'failed'})`, {
          where: program,
          hint: 'install it on PATH, or remove credsStore/credHelpers from the docker config',
        }),
      ),
    );
    child.once('close', (code) => resolve({ code: code ?? 1, stdout }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

function helperFailed(helper: string, action: string): VnfpipeError {
  return new VnfpipeError('IO', `credential helper docker-credential-${helper} ${action} failed`, {
    where: `docker-credential-${helper}`,
  });
}

export async function helperGet(
  helper: string,
  serverUrl: string,
  env?: NodeJS.ProcessEnv,
): Promise<HelperCredentials | undefined> {
  const { code, stdout } = await runHelper(helper, 'get', serverUrl, env);
  if (code !== 0) {
    if (NOT_FOUND.test(stdout)) return undefined;
    throw helperFailed(helper, 'get');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new VnfpipeError(
      'OCI_INVALID',
      `credential helper docker-credential-${helper} printed invalid JSON`,
      {
        where: `docker-credential-${helper}`,
      },
    );
  }
  const record = parsed as { Username?: unknown; Secret?: unknown };
  if (typeof record?.Username !== 'string' || typeof record.Secret !== 'string') {
    throw new VnfpipeError(
      'OCI_INVALID',
      `credential helper docker-credential-${helper} gave no Username/Secret`,
      {
        where: `docker-credential-${helper}`,
      },
    );
  }
  if (record.Secret === '') return undefined;
  return { username: record.Username, secret: record.Secret };
}

export async function helperStore(
  helper: string,
  serverUrl: string,
  credentials: HelperCredentials,
  env?: NodeJS.ProcessEnv,
): Promise<void> {
  const input = JSON.stringify({
    ServerURL: serverUrl,
    Username: credentials.username,
    Secret: credentials.secret,
  });
  const { code } = await runHelper(helper, 'store', input, env);
  if (code !== 0) throw helperFailed(helper, 'store');
}

export async function helperErase(helper: string, serverUrl: string, env?: NodeJS.ProcessEnv): Promise<void> {
  const { code, stdout } = await runHelper(helper, 'erase', serverUrl, env);
  if (code !== 0 && !NOT_FOUND.test(stdout)) throw helperFailed(helper, 'erase');
}
