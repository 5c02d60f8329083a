#!/usr/bin/env node
// Counts the MechEdit commands the Command Palette shows in a few typical situations, from
// package.json's contributes.commands and menus.commandPalette `when` clauses.
//
// Usage: node scripts/palette-count.mjs [package.json]   (prints a table, one row per situation)
//
// The `when` clauses are evaluated with a small evaluator that knows only the context keys used
// there: && || ! ( ), `key`, `key > n` and `key =~ /re/`. A key not set in a situation is
// undefined (false), as in VS Code. An unknown operator fails loudly.
import fs from 'node:fs';

const file = process.argv[2] ?? new URL('../package.json', import.meta.url).pathname;
const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
const commands = pkg.contributes.commands.map((c) => c.command);
const when = new Map((pkg.contributes.menus?.commandPalette ?? []).map((m) => [m.command, m.when]));

/** Evaluates a `when` clause against a context object. */
export function evaluate(expr, ctx) {
  const tokens = expr.match(/\/(?:\\.|\[(?:\\.|[^\]])*\]|[^/\\[])+\/[a-z]*|&&|\|\||!=|==|=~|>=|<=|[()!<>]|[\w.:-]+|'[^']*'/g) ?? [];
  let i = 0;
  const peek = () => tokens[i];
  const value = (t) => (/^-?\d+(\.\d+)?$/.test(t) ? Number(t) : t === 'true' ? true : t === 'false' ? false : t.startsWith("'") ? t.slice(1, -1) : ctx[t]);
  const primary = () => {
    const t = tokens[i++];
    if (t === '!') return !primary();
    if (t === '(') {
      const v = or();
      i++;
      return v;
    }
    const op = peek();
    if (op === '=~') {
      i++;
      const re = tokens[i++];
      const m = /^\/(.*)\/([a-z]*)$/.exec(re);
      return new RegExp(m[1], m[2]).test(String(value(t) ?? ''));
    }
    if (['>', '<', '>=', '<=', '==', '!='].includes(op)) {
      i++;
      const a = value(t);
      const b = value(tokens[i++]);
      return { '>': a > b, '<': a < b, '>=': a >= b, '<=': a <= b, '==': a === b, '!=': a !== b }[op];
    }
    return !!value(t);
  };
  const and = () => {
    let v = primary();
    while (peek() === '&&') {
      i++;
      v = primary() && v;
    }
    return v;
  };
  const or = () => {
    let v = and();
    while (peek() === '||') {
      i++;
      v = and() || v;
    }
    return v;
  };
  const v = or();
  if (i !== tokens.length) throw new Error(`cannot evaluate "${expr}" (stopped at "${tokens[i]}")`);
  return v;
}

// Situations: a new window with a workspace folder (the bundled model configured, nothing loaded
// yet), the model loaded with no edit files, an unapplied edit file, an applied edit.
const base = { workspaceFolderCount: 1, 'mechedit.modelConfigured': true, 'mechedit.hasBundledModel': true, 'mechedit.usingBundledModel': true };
const loaded = { 'mechedit.modelLoaded': true, 'mechedit.engineStarted': true };
const situations = [
  ['startup: model not loaded, no edits', { ...base }],
  ['model loaded, no edit files', { ...base, ...loaded }],
  ['model loaded, 1 unapplied edit file', { ...base, ...loaded, 'mechedit.unappliedEdits': true }],
  ['model loaded, 1 applied edit', { ...base, ...loaded, 'mechedit.editsApplied': true }],
];
console.log(`${commands.length} commands contributed (${file})`);
console.log('| situation | palette commands | of which Apply Edit / Revert Edit shown |');
console.log('|---|---|---|');
for (const [name, ctx] of situations) {
  const shown = commands.filter((c) => !when.has(c) || evaluate(when.get(c), ctx));
  const mark = (c) => (shown.includes(c) ? 'yes' : 'no');
  console.log(`| ${name} | ${shown.length} | ${mark('mechedit.applyEdit')} / ${mark('mechedit.revertEdit')} |`);
}
