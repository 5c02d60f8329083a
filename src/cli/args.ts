// Argument pre-processing for the CLI (no side effects: tests import it).

/**
 * `--edits a.json b.json` (what a shell glob gives) → `--edits a.json --edits b.json`: for options
 * that take several values, the words after the flag up to the next --flag are all its values.
 */
export function expandMultiple(args: string[], multiple: Set<string>): string[] {
  const out: string[] = [];
  let current: string | undefined;
  for (const a of args) {
    if (a.startsWith('--')) {
      const name = a.slice(2).split('=')[0];
      current = multiple.has(name) && !a.includes('=') ? name : undefined;
      out.push(a);
      if (current) out.push('\u0000pending');
      continue;
    }
    if (current) {
      if (out[out.length - 1] === '\u0000pending') out[out.length - 1] = a;
      else out.push(`--${current}`, a);
      continue;
    }
    out.push(a);
  }
  return out.filter((a) => a !== '\u0000pending');
}
