// ESLint rule local/no-cycle: a file may not reach itself through relative, static imports and
// re-exports, type-only ones included (import/no-cycle skips `import type` and `export type … from`
// by design, and parses every dependency again, which doubled the lint time). Dynamic import()
// and import('…') types are not followed. The linted file's imports are read from the text being
// linted; other files from disk, cached by mtime and stat'ed once per linted file.

import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

const EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];
/** @type {Map<string, { mtimeMs: number; edges: Edge[] }>} */
const cache = new Map();

/** @typedef {{ to: string; start: number }} Edge `start`: the import statement's offset in its file. */

function isFile(f) {
  try {
    return fs.statSync(f).isFile();
  } catch {
    return false;
  }
}

function resolve(from, spec) {
  if (!spec.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), spec);
  const ts = /\.[mc]?js$/.test(base) ? [base.replace(/js$/, 'ts')] : [];
  const candidates = [...ts, base, ...EXTENSIONS.map((e) => base + e), ...EXTENSIONS.map((e) => path.join(base, `index${e}`))];
  return candidates.find((c) => EXTENSIONS.includes(path.extname(c)) && isFile(c));
}

/** @returns {Edge[]} */
function edgesOf(file, text) {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
  const edges = [];
  for (const s of sf.statements) {
    const spec = ts.isImportDeclaration(s) || ts.isExportDeclaration(s) ? s.moduleSpecifier : undefined;
    const to = spec && ts.isStringLiteral(spec) ? resolve(file, spec.text) : undefined;
    if (to) edges.push({ to, start: s.getStart(sf) });
  }
  return edges;
}

function edgesOnDisk(file) {
  const { mtimeMs } = fs.statSync(file);
  const hit = cache.get(file);
  if (hit && hit.mtimeMs === mtimeMs) return hit.edges;
  const edges = edgesOf(file, fs.readFileSync(file, 'utf8'));
  cache.set(file, { mtimeMs, edges });
  return edges;
}

/** The shortest path from `from` to `file` (both included), or undefined if there is none. */
function pathTo(file, from, edges) {
  const parent = new Map([[from, undefined]]);
  const queue = [from];
  while (queue.length > 0) {
    const at = queue.shift();
    if (at === file) {
      const chain = [];
      for (let f = at; f !== undefined; f = parent.get(f)) chain.unshift(f);
      return chain;
    }
    for (const e of edges(at)) {
      if (parent.has(e.to)) continue;
      parent.set(e.to, at);
      queue.push(e.to);
    }
  }
  return undefined;
}

export const noCycle = {
  meta: {
    type: 'problem',
    docs: { description: 'Disallow import cycles, type-only imports included.' },
    schema: [],
    messages: { cycle: 'Dependency cycle: {{chain}}' },
  },
  create(context) {
    const file = path.resolve(context.filename);
    return {
      'Program:exit'() {
        const source = context.sourceCode;
        const seen = new Map();
        const edges = (f) => {
          if (!seen.has(f)) seen.set(f, isFile(f) ? edgesOnDisk(f) : []);
          return seen.get(f);
        };
        for (const edge of edgesOf(file, source.text)) {
          const chain = pathTo(file, edge.to, edges);
          if (!chain) continue;
          const names = [file, ...chain].map((f) => path.relative(context.cwd, f)).join(' → ');
          context.report({ loc: source.getLocFromIndex(edge.start), messageId: 'cycle', data: { chain: names } });
        }
      },
    };
  },
};

export default { rules: { 'no-cycle': noCycle } };
