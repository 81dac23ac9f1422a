/** Prints rows as a left-aligned text table, the first row being the header. */
export function printTable(
  rows: string[][],
  write: (text: string) => void = (t) => process.stdout.write(t),
): void {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => (row[col] ?? '').length)));
  for (const row of rows)
    write(
      `${row
        .map((cell, col) => cell.padEnd(widths[col]!))
        .join('  ')
        .trimEnd()}\n`,
    );
}
