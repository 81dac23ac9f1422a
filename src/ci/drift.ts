/** The drift check: what is committed against what the pipeline generates, as a unified diff. */
export interface Drift {
  upToDate: boolean;
  /** A unified diff from the committed file to the generated one (empty when up to date). */
  diff: string;
}

export async function checkDrift(
  path: string,
  committed: string | undefined,
  generated: string,
): Promise<Drift> {
  if (committed === generated) return { upToDate: true, diff: '' };
  const { createTwoFilesPatch } = await import('diff');
  const diff = createTwoFilesPatch(
    committed === undefined ? '/dev/null' : `a/${path}`,
    `b/${path}`,
    committed ?? '',
    generated,
    committed === undefined ? 'missing' : 'committed',
    'generated',
  );
  return { upToDate: false, diff };
}
