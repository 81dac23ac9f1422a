import { explainPlan } from '../pipeline/explain.js';
import { loadPipeline } from '../pipeline/loader.js';
import { createStyle, wantsColor } from '../ui/style.js';

export async function planCommand(opts: {
  file: string;
  cache: boolean;
  json?: boolean;
  preflight?: boolean;
  typecheck?: boolean;
}): Promise<number> {
  if (opts.typecheck) {
    const { checkCommand } = await import('./check.js');
    const checked = await checkCommand({ file: opts.file, quiet: Boolean(opts.json) });
    if (checked !== 0) return checked;
  }
  const { pipeline, file, cwd } = await loadPipeline(opts.file);
  const plan = await explainPlan(pipeline, { cwd, file, noCache: !opts.cache });
  if (opts.preflight) {
    const { preflightKubernetesSteps } = await import('./preflight.js');
    const refused = await preflightKubernetesSteps(pipeline, cwd);
    if (refused) return 1;
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
    return 0;
  }
  const style = createStyle(wantsColor(process.env, Boolean(process.stdout.isTTY)));
  const lines = [
    style.bold(
      `pipeline ${plan.pipeline}: ${plan.steps.length} steps in ${plan.stages.length} stages (${plan.stages.join(' → ')})`,
    ),
  ];
  const width = Math.max(...plan.steps.map((step) => step.id.length));
  for (const stage of plan.stages) {
    lines.push(style.cyan(stage));
    for (const step of plan.steps.filter((s) => s.stage === stage)) {
      const verdict =
        step.cache.status === 'cached'
          ? style.green('cached')
          : step.cache.status === 'will-run'
            ? style.yellow('will run')
            : step.cache.status === 'on-failure'
              ? style.dim('on failure')
              : 'will run';
      const needs = step.needs.length ? style.dim(` ← ${step.needs.join(', ')}`) : '';
      const handles = step.onFailure.length ? style.dim(` (on failure: ${step.onFailure.join(', ')})`) : '';
      lines.push(
        `  ${step.id.padEnd(width)}  ${step.kind.padEnd(8)} ${verdict}: ${step.cache.reasons.join('; ')}${needs}${handles}`,
      );
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
