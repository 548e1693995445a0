// `stack stats` figures as `docker stats` writes them: memory in binary units to 4 significant
// digits (`1.504MiB / 7.6GiB`), network and block I/O in decimal units to 3 (`1.23kB / 648B`),
// percentages with two decimals.

const BINARY = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
const DECIMAL = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

/** `value` in `units` of `base`, to `digits` significant digits (Go's %g: no trailing zeros). */
function scaled(value: number, base: number, units: readonly string[], digits: number): string {
  let v = value;
  let i = 0;
  while (v >= base && i < units.length - 1) {
    v /= base;
    i++;
  }
  return `${Number(v.toPrecision(digits))}${units[i]}`;
}

/** docker's units.BytesSize: `1.504MiB`. */
export function binarySize(bytes: number): string {
  return scaled(bytes, 1024, BINARY, 4);
}

/** docker's units.HumanSizeWithPrecision(v, 3): `1.23kB`. */
export function decimalSize(bytes: number): string {
  return scaled(bytes, 1000, DECIMAL, 3);
}

/** `12.34%`. */
export function percent(value: number): string {
  return `${value.toFixed(2)}%`;
}

/** Inverse of binarySize/decimalSize, for readers of the table or JSON (tests): `1.5MiB` → 1572864. */
export function parseSize(text: string): number {
  const m = /^([\d.]+)\s*([KMGTP]?i?B|kB)$/.exec(text.trim());
  if (!m) throw new Error(`not a size: ${JSON.stringify(text)}`);
  const unit = m[2]!;
  const binary = BINARY.indexOf(unit);
  const decimal = DECIMAL.indexOf(unit);
  return Number(m[1]) * (binary >= 0 ? 1024 ** binary : 1000 ** decimal);
}
