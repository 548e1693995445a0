// Placeholder: replaced by the real CLI (argument parsing and rendering only).
export async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--version') {
    process.stdout.write('0.1.0\n');
    return;
  }
  process.stderr.write('stack: not yet\n');
  process.exitCode = 2;
}
