// Writes what is derived from the method registry (src/core/registry) into the files that cannot
// import it: package.json (the mechedit.edit.method setting: its enum of fact editors, their
// labels and descriptions, the default; the "Edit a Fact…" title), schemas/edit.schema.json (the
// `method` an edit file may record — each edit method's `writes ?? id`, then the objectives'
// `writes` — and training.objective), and the README's table of methods between
// <!-- registry:methods:start --> and <!-- registry:methods:end --> (edit methods, objectives and
// diagnostics), and in each method's doc page the block between <!-- registry:settings:ID:start -->
// and <!-- registry:settings:ID:end -->: its settings, and the block between
// <!-- registry:presets:ID:start --> and <!-- registry:presets:ID:end -->: its presets (a table:
// preset, default marked, what it is, its fixed values, its transfer rules). A method with presets
// whose page lacks the presets markers gets them inserted after the page's last registry block
// (under the settings table), in registry order.
//
// The registry is bundled with esbuild into memory and evaluated (onnxruntime-node stubbed: no
// native code loads), so it works on a fresh clone after `npm ci`. A file is rewritten only when
// its content changes.
// Usage: node scripts/gen-registry.mjs [--check] [--root DIR]
//   --check: writes nothing; exits 1 naming each file that differs from the registry.
//   --root DIR: the files under DIR instead of the repository's (the registry is always the repository's).
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';

const root = path.resolve(import.meta.dirname, '..');
/** describeRegistry() of src/core/registry/index.ts. */
export async function loadRegistry() {
  const stub = {
    name: 'stub-ort',
    setup(b) {
      b.onResolve({ filter: /^onnxruntime-(node|common|web)$/ }, (a) => ({ path: a.path, namespace: 'stub' }));
      b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
    },
  };
  const out = await esbuild.build({
    entryPoints: [path.join(root, 'src/core/registry/index.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node20',
    write: false, logLevel: 'warning', plugins: [stub], external: ['esbuild'], absWorkingDir: root,
  });
  const module = { exports: {} };
  const require = createRequire(path.join(root, 'src/core/registry/index.ts'));
  new Function('module', 'exports', 'require', '__filename', '__dirname', out.outputFiles[0].text)(module, module.exports, require, path.join(root, 'src/core/registry/index.js'), path.join(root, 'src/core/registry'));
  return module.exports.describeRegistry();
}

const factEditors = (r) => r.methods.filter((m) => m.kind === 'fact' || m.kind === 'batch');
/** The preset ids of the methods, each once, in registry order. */
export const presetIds = (methods) => [...new Set(methods.flatMap((m) => m.presets.map((p) => p.id)))];
/** Which of the methods have the preset, and for which it is the default, in words. */
function presetUse(methods, id) {
  const has = methods.filter((m) => m.presets.some((p) => p.id === id));
  const def = has.filter((m) => m.defaultPreset === id);
  const of = `a preset of ${has.map((m) => m.label).join(', ')}`;
  if (!def.length) return of;
  const which = def.length < has.length ? `the default of ${def.map((m) => m.label).join(', ')}` : has.length === 1 ? 'its default' : 'the default of each';
  return `${of}; ${which}`;
}

/** package.json with the registry's enums. */
export function packageJson(text, r) {
  const pkg = JSON.parse(text);
  const editors = factEditors(r);
  const props = pkg.contributes.configuration.properties;
  const preset = {
    ...props['mechedit.edit.preset'],
    type: 'string',
    enum: ['', ...presetIds(editors)],
    enumItemLabels: ['each method\'s default', ...presetIds(editors)],
    enumDescriptions: ['the default preset of the method used', ...presetIds(editors).map((id) => presetUse(editors, id))],
    default: '',
    markdownDescription: 'The preset *Edit a Fact…* preselects for a method that has it, until you pick another in this workspace (empty: each method\'s default preset). A setting you give still wins over the preset\'s value. The presets are the method registry\'s (`mechedit methods`).',
  };
  props['mechedit.edit.method'] = {
    ...props['mechedit.edit.method'],
    type: 'string',
    enum: editors.map((m) => m.id),
    enumItemLabels: editors.map((m) => m.label),
    enumDescriptions: editors.map((m) => m.description),
    default: editors[0].id,
    markdownDescription: 'The fact editor *Edit a Fact…* preselects until you pick another in this workspace, and the first method of a request file\'s CodeLenses. The list is the method registry\'s (`mechedit methods`).',
  };
  // mechedit.edit.preset goes right after mechedit.edit.method (the Settings UI lists them in this order).
  const ordered = Object.entries(props).filter(([k]) => k !== 'mechedit.edit.preset').flatMap(([k, v]) => (k === 'mechedit.edit.method' ? [[k, v], ['mechedit.edit.preset', preset]] : [[k, v]]));
  pkg.contributes.configuration.properties = Object.fromEntries(ordered);
  const cmd = pkg.contributes.commands.find((c) => c.command === 'mechedit.editFact');
  cmd.title = 'Edit a Fact…';
  return JSON.stringify(pkg, null, 2) + '\n';
}

/** The `method`s an edit file may record, in registry order. */
export function writtenMethods(r) {
  return [...new Set([...r.methods.map((m) => m.writes ?? m.id), ...r.objectives.map((m) => m.writes ?? m.id)])];
}

function replaceArray(text, anchor, values, file) {
  const re = new RegExp(`(${anchor.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*)\\[[^\\]]*\\]`);
  if (!re.test(text)) throw new Error(`${file}: cannot find ${anchor} [...] to write`);
  return text.replace(re, (_, head) => `${head}[${values.map((v) => JSON.stringify(v)).join(', ')}]`);
}

/** schemas/edit.schema.json with the registry's method and objective enums (the file's own layout kept). */
export function editSchema(text, r) {
  let t = replaceArray(text, '"method": { "enum":', writtenMethods(r), 'schemas/edit.schema.json');
  t = replaceArray(t, '"objective": { "enum":', r.objectives.map((m) => m.id), 'schemas/edit.schema.json');
  return t;
}

const KIND_WORDS = { fact: 'fact edit', batch: 'fact edits, batched', concept: 'concept redirection', direction: 'direction', vectors: 'user vectors', training: 'unlearning objective', diagnostic: 'diagnostic' };
const cell = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');

export const README_START = '<!-- registry:methods:start -->';
export const README_END = '<!-- registry:methods:end -->';

/** The README's table of edit methods and objectives. */
export function readmeTable(r) {
  const rows = [...r.methods, ...r.objectives, ...r.diagnostics].map((m) => {
    const doc = m.doc ? `[${path.basename(m.doc, '.md')}](${m.doc})` : '–';
    return `| ${cell(m.label)} | ${KIND_WORDS[m.kind] ?? m.kind} | ${cell(m.description)} | ${cell(m.measured ?? '–')} | ${doc} |`;
  });
  return ['| method or diagnostic | kind | what it does | measured on the bundled model | docs |', '|---|---|---|---|---|', ...rows].join('\n');
}

export function readme(text, r) {
  const a = text.indexOf(README_START);
  const b = text.indexOf(README_END);
  if (a < 0 || b < a) throw new Error(`README.md: the markers ${README_START} … ${README_END} are missing`);
  return `${text.slice(0, a + README_START.length)}\n${readmeTable(r)}\n${text.slice(b)}`;
}

const flag = (s) => `--${s.cli ?? s.name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
const shown = (v) => (Array.isArray(v) ? v.join(',') : String(v));

/** A method's settings as Markdown: name, CLI flag, type, default or checkpoint rule, bounds, doc. */
export function settingsTable(m) {
  const rows = m.settings.map((s) => {
    const bounds = s.optionsFrom ? s.optionsFrom : s.options ? s.options.join(' \\| ') : s.min !== undefined || s.max !== undefined ? `${s.min ?? ''}${s.exclusiveMin ? ' < x' : ' ≤ x'}${s.max !== undefined ? ` ≤ ${s.max}` : ''}` : '';
    const def = s.default !== undefined ? `\`${shown(s.default)}\`` : s.fromCheckpoint ? `from the checkpoint: ${s.fromCheckpoint}` : s.required ? 'required' : '–';
    return `| \`${s.name}\` | \`${flag(s)}\` | ${s.type} | ${cell(def)} | ${cell(bounds) || '–'} | ${cell(s.doc)} |`;
  });
  return [
    `Generated from the registry (\`mechedit methods\`): \`${m.id}\`, ${KIND_WORDS[m.kind] ?? m.kind}. In the engine, a setting is a request field by its name; on the command line, its flag.`,
    '',
    '| setting | flag | type | default | bounds | what it does |', '|---|---|---|---|---|---|', ...rows,
  ].join('\n');
}

/** The command that takes a method's --preset. */
const presetCommand = (m) => (m.family === 'objective' ? `mechedit unlearn --method ${m.id}` : `mechedit edit --method ${m.id}`);

/**
 * A method's presets as Markdown: one row per preset (the default marked), what it is, the values
 * it fixes and the settings it derives from the open model by a transfer rule (each rule in words).
 */
export function presetsTable(m) {
  if (!m.presets.length) return `Generated from the registry: \`${m.id}\` has no presets.`;
  const rows = m.presets.map((p) => {
    const values = Object.entries(p.values).map(([k, v]) => `\`${k}\` = \`${shown(v)}\``).join('<br>') || '–';
    const rules = Object.entries(p.rules ?? {}).map(([k, rule]) => `\`${k}\`: ${rule}`).join('<br>') || '–';
    return `| \`${p.id}\`${p.id === m.defaultPreset ? ' (default)' : ''} | ${cell(p.doc)} | ${cell(values)} | ${cell(rules)} |`;
  });
  return [
    `Generated from the registry (\`mechedit methods\`): the presets of \`${m.id}\`. Choose one with \`${presetCommand(m)} --preset ID\` (the engine's \`preset\` field; in VS Code, the preset pick). A setting you give wins over the preset; a setting the preset neither fixes nor derives takes its default or checkpoint rule above.`,
    '',
    '| preset | what it is | values it fixes | settings it derives from the open model (transfer rule) |', '|---|---|---|---|', ...rows,
  ].join('\n');
}

const presetsStart = (id) => `<!-- registry:presets:${id}:start -->`;
const presetsEnd = (id) => `<!-- registry:presets:${id}:end -->`;

/**
 * A page with the presets markers of `methods` (those with presets) present: each missing pair is
 * inserted after the page's last registry block (its settings table, or the presets inserted
 * before it), in the methods' order. A page with no registry block cannot take them.
 */
export function withPresetMarkers(text, methods, rel) {
  let t = text;
  for (const m of methods) {
    if (!m.presets.length || t.includes(presetsStart(m.id))) continue;
    const ends = [...t.matchAll(/<!-- registry:(?:settings|presets):[\w-]+:end -->/g)];
    if (!ends.length) throw new Error(`${rel}: no <!-- registry:settings:${m.id}:start --> … end block to put ${m.id}'s presets under`);
    const last = ends[ends.length - 1];
    const at = last.index + last[0].length;
    t = `${t.slice(0, at)}\n\n${presetsStart(m.id)}\n${presetsEnd(m.id)}${t.slice(at)}`;
  }
  return t;
}

/** The doc pages that hold <!-- registry:settings:ID:start --> … end markers, each block filled from its method. */
function docTargets(r) {
  const all = [...r.methods, ...r.objectives, ...r.diagnostics];
  const pages = [...new Set(all.map((m) => m.doc).filter(Boolean))];
  const fill = (rel, kind, make) => (text) => text.replace(new RegExp(`(<!-- registry:${kind}:([\\w-]+):start -->)[\\s\\S]*?(<!-- registry:${kind}:\\2:end -->)`, 'g'), (_, start, id, end) => {
    const m = all.find((x) => x.id === id);
    if (!m) throw new Error(`${rel}: no method ${id} in the registry`);
    return `${start}\n${make(m)}\n${end}`;
  });
  return pages.map((rel) => [rel, (text) => {
    const t = fill(rel, 'settings', settingsTable)(text);
    return fill(rel, 'presets', presetsTable)(withPresetMarkers(t, all.filter((m) => m.doc === rel), rel));
  }]);
}

/** Every generated file: [relative path, (current text, registry) → wanted text]. */
export const TARGETS = [['package.json', packageJson], ['schemas/edit.schema.json', editSchema], ['README.md', readme]];

/** Writes (or, with check, only compares) every generated file under `dir`; returns the ones that differed. */
export async function generate({ check = false, dir = root } = {}) {
  const r = await loadRegistry();
  const differ = [];
  for (const [rel, make] of [...TARGETS, ...docTargets(r)]) {
    const file = path.join(dir, rel);
    if (!fs.existsSync(file)) continue;
    const text = fs.readFileSync(file, 'utf8');
    const wanted = make(text, r);
    if (wanted === text) continue;
    differ.push(rel);
    if (!check) fs.writeFileSync(file, wanted);
  }
  return differ;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const check = process.argv.includes('--check');
  const at = process.argv.indexOf('--root');
  const differ = await generate({ check, dir: at > 0 ? path.resolve(process.argv[at + 1]) : root });
  if (check && differ.length) {
    console.error(`gen-registry: ${differ.join(', ')} differ${differ.length === 1 ? 's' : ''} from the method registry: run npm run gen`);
    process.exit(1);
  }
  console.log(differ.length ? `gen-registry: wrote ${differ.join(', ')}` : 'gen-registry: package.json, schemas/edit.schema.json, README.md and the doc pages\' blocks match the registry');
}
