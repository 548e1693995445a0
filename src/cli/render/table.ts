// Plain text tables as docker prints them: columns padded to their widest cell, three spaces
// apart, the last column unpadded (no trailing blanks).

/** `rows` (the header first) as lines, each ending in a newline. */
export function formatTable(rows: readonly (readonly string[])[], gap = '   '): string {
  if (rows.length === 0) return '';
  const columns = Math.max(...rows.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join(gap) + '\n').join('');
}
