import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { runChecks } from '../doctor/checks.js';
import { type PipelineNeeds, pipelineNeeds } from '../doctor/needs.js';
import { EXIT } from '../errors.js';
import { loadPipeline } from '../pipeline/loader.js';
import { createStyle, wantsColor } from '../ui/style.js';

/**
 * One line per check, ✔ or ✘, with the fix under a ✘. Exit 1 when something the pipeline needs is missing;
 * without a pipeline file everything is checked and nothing is required.
 */
export async function doctorCommand(opts: { file: string; json?: boolean }): Promise<number> {
  let needs: PipelineNeeds | undefined;
  let pipelineName: string | undefined;
  if (existsSync(resolve(opts.file))) {
    const { pipeline } = await loadPipeline(opts.file);
    needs = pipelineNeeds(pipeline);
    pipelineName = pipeline.name;
  }
  const results = await runChecks(needs);
  const missing = results.filter((r) => r.required && !r.ok);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ pipeline: pipelineName ?? null, checks: results }, null, 2)}\n`);
    return missing.length ? EXIT.failed : EXIT.ok;
  }
  const style = createStyle(wantsColor(process.env, Boolean(process.stdout.isTTY)));
  const lines = [
    pipelineName
      ? `what pipeline ${pipelineName} (${opts.file}) needs, and what this machine has:`
      : `no ${opts.file} here: checking everything, requiring nothing`,
  ];
  for (const r of results) {
    const mark = r.ok ? style.green('✔') : r.required ? style.red('✘') : style.yellow('✘');
    const tag = r.required ? '' : style.dim(r.ok ? '' : ' (not required here)');
    lines.push(`${mark} ${r.name}: ${r.detail}${tag}`);
    if (!r.ok && r.fix) lines.push(`    fix: ${r.fix}`);
  }
  lines.push(
    missing.length
      ? style.red(
          `${missing.length} thing${missing.length === 1 ? '' : 's'} the pipeline needs ${missing.length === 1 ? 'is' : 'are'} missing: ${missing.map((m) => m.name).join(', ')}`,
        )
      : style.green('everything the pipeline needs is here'),
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  return missing.length ? EXIT.failed : EXIT.ok;
}
