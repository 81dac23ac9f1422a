/**
 * vnfpipe's own CI, as a vnfpipe pipeline. `.github/workflows/ci.yml` is generated from it:
 *
 *   node bin/vnfpipe.js ci github -f pipelines/project-ci.ts -o .github/workflows/ci.yml --vnfpipe 'node bin/vnfpipe.js'
 *
 * The project folder of this file is `pipelines/`, so commands run one level up, in the repository root.
 * `npm ci` builds dist/ (the `prepare` script), which is what `node bin/vnfpipe.js` runs.
 */
import { definePipeline, exec } from 'vnfpipe';

/** The tests start dockerd and a registry and install Debian packages: they need root (sudo on runners). */
const asRoot = (command: string) =>
  `if [ "$(id -u)" = 0 ]; then ${command}; else sudo --preserve-env=PATH,CI ${command}; fi`;

export default definePipeline('vnfpipe-ci', (p) => {
  const typecheck = p.step('typecheck', exec({ run: 'npx tsc --noEmit', cwd: '..' }), { stage: 'check' });
  const lint = p.step('lint', exec({ run: 'npx biome check .', cwd: '..' }), { stage: 'check' });
  const drift = p.step(
    'ci-drift',
    exec({
      run: "node bin/vnfpipe.js ci github -f pipelines/project-ci.ts -o .github/workflows/ci.yml --vnfpipe 'node bin/vnfpipe.js' --check",
      cwd: '..',
    }),
    { stage: 'check' },
  );
  // dist/ is built by `npm ci` (the prepare script); the report is compared with the committed api/*.api.md.
  const api = p.step('api-report', exec({ run: 'npm run api:check', cwd: '..' }), { stage: 'check' });
  const setup = p.step('setup', exec({ run: asRoot('bash scripts/setup-deps.sh'), cwd: '..' }), {
    stage: 'test',
    needs: [typecheck, lint, drift, api],
    timeout: '15m',
  });
  p.step('tests', exec({ run: asRoot('npm test'), cwd: '..' }), {
    stage: 'test',
    needs: [setup],
    timeout: '60m',
  });
});
