// The method registry is the one list of methods: package.json's mechedit.edit.method enum, the
// edit schema's `method` and `training.objective` enums and the README's table are what the
// registry says (scripts/gen-registry.mjs writes them; its --check refuses a file that differs);
// the extension, the webviews and the protocol hold no hand-written list of method ids; the
// extension's registry cache shares one fetch, keeps its description when a fetch fails and
// fetches again when the engine (re)starts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { describeRegistry } from '../../src/core/registry';
import { factEditors, type MethodDescriptor, type RegistryDescription } from '../../src/protocol/registry';
import { methods as methodsCommand } from '../../src/cli/commands/methods';
import { RegistryCache } from '../../src/extension/engine/registry';
import type { EngineStatus } from '../../src/protocol/panels';

const repo = path.join(__dirname, '..', '..', '..');
const registry = describeRegistry();
const read = (rel: string) => fs.readFileSync(path.join(repo, rel), 'utf8');

test('package.json: mechedit.edit.method lists the fact editors, their labels and descriptions; the command title lists none', () => {
  const pkg = JSON.parse(read('package.json')) as { contributes: { commands: { command: string; title: string }[]; configuration: { properties: Record<string, { enum?: string[]; enumItemLabels?: string[]; enumDescriptions?: string[]; default?: unknown }> } } };
  const setting = pkg.contributes.configuration.properties['mechedit.edit.method'];
  const editors = factEditors(registry);
  assert.ok(editors.length >= 2);
  assert.deepEqual(setting.enum, editors.map((m) => m.id));
  assert.deepEqual(setting.enumItemLabels, editors.map((m) => m.label));
  assert.deepEqual(setting.enumDescriptions, editors.map((m) => m.description));
  assert.equal(setting.default, editors[0].id);
  const title = pkg.contributes.commands.find((c) => c.command === 'mechedit.editFact')!.title;
  for (const m of editors) assert.ok(!title.includes(m.label), `the title "${title}" names ${m.label}`);
});

test('the edit schema: `method` is every edit method\'s writes ?? id, then the objectives\'; training.objective the objectives', () => {
  const schema = JSON.parse(read('schemas/edit.schema.json')) as { properties: { method: { enum: string[] }; training: { properties: { objective: { enum: string[] } } } } };
  const written = [...new Set([...registry.methods, ...registry.objectives].map((m) => m.writes ?? m.id))];
  assert.deepEqual(schema.properties.method.enum, written);
  assert.ok(written.includes('manual') && written.includes('unlearn') && !written.includes('import'), 'import writes "manual", the objectives "unlearn"');
  assert.deepEqual(schema.properties.training.properties.objective.enum, registry.objectives.map((m) => m.id));
});

test('the README\'s table: one row per edit method, objective and diagnostic, with its label, description, measured figure and page', () => {
  const text = read('README.md');
  const table = text.slice(text.indexOf('<!-- registry:methods:start -->'), text.indexOf('<!-- registry:methods:end -->'));
  const rows = table.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| method or diagnostic |')).map((l) => l.slice(2, -2).split(' | '));
  const all = [...registry.methods, ...registry.objectives, ...registry.diagnostics];
  assert.deepEqual(rows.map((r) => r[0]), all.map((m) => m.label));
  assert.deepEqual(rows.map((r) => r[2]), all.map((m) => m.description));
  assert.deepEqual(rows.map((r) => r[3]), all.map((m) => m.measured ?? '–'));
  assert.deepEqual(rows.map((r) => r[4]), all.map((m) => `[${path.basename(m.doc!, '.md')}](${m.doc})`));
  for (const m of all) if (m.doc) assert.ok(fs.existsSync(path.join(repo, m.doc)), `${m.id}'s page ${m.doc} exists`);
  assert.ok(all.filter((m) => m.measured).length >= 10, 'the measured figures live in the descriptors');
});

test('every method, objective and diagnostic has its doc page, and the page holds its generated settings table', () => {
  for (const m of [...registry.methods, ...registry.objectives, ...registry.diagnostics]) {
    assert.ok(m.doc, `${m.id} names its doc page`);
    assert.ok(fs.existsSync(path.join(repo, m.doc)), `${m.id}: ${m.doc} exists`);
    const pages = [...registry.methods, ...registry.objectives, ...registry.diagnostics].filter((x) => x.doc === m.doc);
    const text = read(m.doc);
    assert.ok(pages.some((x) => text.includes(`<!-- registry:settings:${x.id}:start -->`)), `${m.doc} holds the settings table of ${pages.map((x) => x.id).join(' or ')}`);
  }
});

test('gen-registry --check passes on the repository and names a file that differs', () => {
  const gen = path.join(repo, 'scripts', 'gen-registry.mjs');
  const ok = spawnSync(process.execPath, [gen, '--check'], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-gen-'));
  fs.mkdirSync(path.join(dir, 'schemas'));
  for (const rel of ['package.json', 'schemas/edit.schema.json', 'README.md']) fs.copyFileSync(path.join(repo, rel), path.join(dir, rel));
  const schema = path.join(dir, 'schemas', 'edit.schema.json');
  fs.writeFileSync(schema, fs.readFileSync(schema, 'utf8').replace('"method": { "enum": ["rome", ', '"method": { "enum": ['));
  const bad = spawnSync(process.execPath, [gen, '--check', '--root', dir], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /schemas\/edit\.schema\.json differs from the method registry/);
  assert.doesNotMatch(bad.stderr, /package\.json|README/);
  const fixed = spawnSync(process.execPath, [gen, '--root', dir], { encoding: 'utf8' });
  assert.equal(fixed.status, 0, fixed.stderr);
  assert.equal(fs.readFileSync(schema, 'utf8'), read('schemas/edit.schema.json'), 'the generator writes it back');
  fs.rmSync(dir, { recursive: true, force: true });
});

// Presets: each method's page holds the table of its presets (values and transfer rules), the
// generator inserts the markers where a page lacks them, and `mechedit methods` prints them.

interface GenModule {
  presetsTable(m: MethodDescriptor): string;
  withPresetMarkers(text: string, methods: MethodDescriptor[], rel: string): string;
}
const genModule = () => import(pathToFileURL(path.join(repo, 'scripts', 'gen-registry.mjs')).href) as Promise<GenModule>;
const shownValue = (v: unknown) => (Array.isArray(v) ? v.join(',') : String(v));
const cellText = (s: string) => s.replace(/\|/g, '\\|');
const between = (text: string, id: string) => {
  const a = text.indexOf(`<!-- registry:presets:${id}:start -->`);
  const b = text.indexOf(`<!-- registry:presets:${id}:end -->`);
  return a >= 0 && b > a ? text.slice(a, b) : undefined;
};

test('package.json: mechedit.edit.preset is empty (each method\'s default) or a preset id of a fact editor, each once', () => {
  const pkg = JSON.parse(read('package.json')) as { contributes: { configuration: { properties: Record<string, { enum?: string[]; default?: unknown }> } } };
  const setting = pkg.contributes.configuration.properties['mechedit.edit.preset'];
  const ids = [...new Set(factEditors(registry).flatMap((m) => m.presets.map((p) => p.id)))];
  assert.ok(ids.length >= 1);
  assert.deepEqual(setting.enum, ['', ...ids]);
  assert.equal(setting.default, '');
});

test('each method with presets: its page\'s presets block lists every preset (the default marked), its doc, each value it fixes and each transfer rule', () => {
  const all = [...registry.methods, ...registry.objectives, ...registry.diagnostics].filter((m) => m.presets.length);
  assert.ok(all.length >= 10);
  for (const m of all) {
    const block = between(read(m.doc!), m.id);
    assert.ok(block, `${m.doc} holds <!-- registry:presets:${m.id}:start --> … end`);
    for (const p of m.presets) {
      const row: string | undefined = block.split('\n').find((l) => l.startsWith(`| \`${p.id}\``));
      assert.ok(row, `${m.id}: a row for preset ${p.id}`);
      assert.equal(row.startsWith(`| \`${p.id}\` (default) |`), p.id === m.defaultPreset, `${m.id}/${p.id}: the default is marked, and only it`);
      assert.ok(row.includes(cellText(p.doc)), `${m.id}/${p.id}: its doc`);
      for (const [k, v] of Object.entries(p.values)) assert.ok(row.includes(`\`${k}\` = \`${cellText(shownValue(v))}\``), `${m.id}/${p.id}: value ${k}`);
      for (const [k, rule] of Object.entries(p.rules ?? {})) assert.ok(row.includes(`\`${k}\`: ${cellText(rule)}`), `${m.id}/${p.id}: the transfer rule of ${k}`);
    }
  }
});

const fake = (id: string, presets: MethodDescriptor['presets'], defaultPreset?: string): MethodDescriptor => ({
  id, label: id.toUpperCase(), description: 'd', family: 'edit', kind: 'fact', settings: [], presets, defaultPreset, outputs: [], doc: 'docs/methods/x.md',
});

test('the presets table: one row per preset with its values and rules (a | in a rule escaped); the markers go under the page\'s last registry block, in order, once', async () => {
  const gen = await genModule();
  const a = fake('aa', [
    { id: 'paper', doc: 'the reference\'s', values: { clamp: 0.75, layers: [3, 4] }, rules: { lambda: 'λ = 3.1 × E[kᵀC⁻¹k] | per layer', layer: 'the trace\'s peak' } },
    { id: 'tuned', doc: 'measured here', values: {} },
  ], 'paper');
  const rows = gen.presetsTable(a).split('\n').filter((l) => l.startsWith('| `'));
  assert.deepEqual(rows, [
    '| `paper` (default) | the reference\'s | `clamp` = `0.75`<br>`layers` = `3,4` | `lambda`: λ = 3.1 × E[kᵀC⁻¹k] \\| per layer<br>`layer`: the trace\'s peak |',
    '| `tuned` | measured here | – | – |',
  ]);
  const b = fake('bb', [{ id: 'tuned', doc: 't', values: { lr: 1 } }]);
  const none = fake('cc', []);
  const page = '# X\n\n<!-- registry:settings:aa:start -->\nS\n<!-- registry:settings:aa:end -->\n\n## More\n';
  const once = gen.withPresetMarkers(page, [a, none, b], 'x.md');
  assert.equal(once, '# X\n\n<!-- registry:settings:aa:start -->\nS\n<!-- registry:settings:aa:end -->\n\n<!-- registry:presets:aa:start -->\n<!-- registry:presets:aa:end -->\n\n<!-- registry:presets:bb:start -->\n<!-- registry:presets:bb:end -->\n\n## More\n');
  assert.equal(gen.withPresetMarkers(once, [a, none, b], 'x.md'), once, 'present markers stay as they are');
  assert.throws(() => gen.withPresetMarkers('# no blocks\n', [a], 'x.md'), /x\.md: no <!-- registry:settings:aa:start -->/);
});

test('gen-registry --check names a doc page whose presets block is missing or stale, and writes it back', () => {
  const gen = path.join(repo, 'scripts', 'gen-registry.mjs');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-gen-presets-'));
  fs.mkdirSync(path.join(dir, 'docs', 'methods'), { recursive: true });
  const rel = 'docs/methods/rome.md';
  const text = read(rel);
  const block = text.slice(text.indexOf('<!-- registry:presets:rome:start -->'), text.indexOf('<!-- registry:presets:rome:end -->') + '<!-- registry:presets:rome:end -->'.length);
  assert.ok(block.length > 100, 'rome.md holds its presets block');
  for (const broken of [text.replace(`\n\n${block}`, ''), text.replace(block, block.replace('| `tuned`', '| `tuned-old`'))]) {
    fs.writeFileSync(path.join(dir, rel), broken);
    const bad = spawnSync(process.execPath, [gen, '--check', '--root', dir], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /docs\/methods\/rome\.md differs from the method registry/);
    assert.equal(spawnSync(process.execPath, [gen, '--root', dir], { encoding: 'utf8' }).status, 0);
    assert.equal(fs.readFileSync(path.join(dir, rel), 'utf8'), text, 'the generator writes it back');
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('mechedit methods prints each preset\'s values and transfer rules; --json carries them', async () => {
  const m = fake('aa', [{ id: 'paper', doc: 'the reference\'s', values: { clamp: 0.75 }, rules: { lambda: 'λ by the reference\'s ratio' } }, { id: 'tuned', doc: 'here', values: {} }], 'paper');
  const text = methodsCommand.format({ methods: [m], objectives: [], diagnostics: [] } as RegistryDescription);
  assert.match(text, /\n {4}paper \(default\): the reference's\n {6}values: clamp 0\.75\n {6}lambda: λ by the reference's ratio\n {4}tuned: here\n/);
  const json = JSON.parse(JSON.stringify(await methodsCommand.run({}, { json: true }))) as RegistryDescription;
  assert.deepEqual(json.methods.map((x) => x.presets), registry.methods.map((x) => x.presets.map((p) => JSON.parse(JSON.stringify(p)) as unknown)));
});

// Hand-written method lists: two or more registry ids in one array literal, union type or object
// literal's keys, or a comparison with a registry id.

const IDS = [...registry.methods, ...registry.objectives].map((m) => m.id);
const idAlt = IDS.map((id) => id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
const quotedId = new RegExp(`['"\`](${idAlt})['"\`]`, 'g');
/** An object key that is a method id (`rome:` or `'rome':`). */
const idKey = new RegExp(`(?<=^|[\\s{,])(?<!\\bcase\\s+)['"]?(${idAlt})['"]?\\s*:(?!:)`, 'g');
const distinctIds = (s: string, re: RegExp) => new Set([...s.matchAll(re)].map((x) => x[1])).size;
const RULES: { what: string; re: RegExp; hit: (m: RegExpMatchArray, text: string) => boolean }[] = [
  { what: 'an array of method ids', re: /\[[^[\]]*\]/g, hit: (m) => distinctIds(m[0], quotedId) >= 2 },
  { what: 'a union of method ids', re: /(?:'[^'\n]*'\s*\|\s*)+'[^'\n]*'/g, hit: (m) => distinctIds(m[0], quotedId) >= 2 },
  { what: 'a comparison with a method id', re: new RegExp(`[!=]==\\s*['"\`](?:${idAlt})['"\`]|['"\`](?:${idAlt})['"\`]\\s*[!=]==|\\bcase\\s+['"\`](?:${idAlt})['"\`]\\s*:`, 'g'), hit: () => true },
  // Keys of one object (nested values or not): another method id as a key within the next 300 characters.
  { what: 'an object keyed by method ids', re: idKey, hit: (m, text) => distinctIds(text.slice(m.index!, m.index! + m[0].length + 300), idKey) >= 2 },
];

/** Where a text writes a method list by hand: "file:line: what". */
export function handLists(text: string, file: string): string[] {
  const found: string[] = [];
  for (const rule of RULES) {
    let last = -Infinity;
    for (const m of text.matchAll(rule.re)) {
      // One finding per list: an object's later keys are the same list.
      if (rule.re === idKey && m.index! < last + 300) continue;
      if (!rule.hit(m, text)) continue;
      last = m.index!;
      found.push(`${file}:${text.slice(0, m.index).split('\n').length}: ${rule.what}: ${m[0].replace(/\s+/g, ' ').slice(0, 80)}`);
    }
  }
  return found;
}

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    return d.isDirectory() ? tsFiles(p) : d.name.endsWith('.ts') ? [p] : [];
  });
}

test('the scan finds hand-written method lists (arrays, unions, comparisons, keyed objects) and passes clean code', () => {
  const [a, b] = IDS;
  const bad = [`const M = ['${a}', 'x', "${b}"];`, `type T = 'none' | '${a}' | '${b}';`, `if (m === '${a}') {}`, `switch (m) { case '${b}': break; }`, `const L = {\n  ${a}: 'A',\n  '${b}': 'B',\n};`].join('\n');
  const found = handLists(bad, 'x.ts');
  assert.deepEqual(found.map((f) => f.split(': ')[1]), ['an array of method ids', 'a union of method ids', 'a comparison with a method id', 'a comparison with a method id', 'an object keyed by method ids']);
  assert.equal(found[4].split(':')[1], '6', 'the line of the first key');
  assert.deepEqual(handLists(`const one = ['${a}'];\nconst k = m.kind === 'fact';\nconst o = { ${a}: 1, other: 2 };`, 'y.ts'), []);
});

test('src/extension, webview and src/protocol hold no hand-written list of method ids', () => {
  const files = ['src/extension', 'webview', 'src/protocol'].flatMap((d) => tsFiles(path.join(repo, d)));
  assert.ok(files.length > 50, `${files.length} files scanned`);
  const found = files.flatMap((f) => handLists(fs.readFileSync(f, 'utf8'), path.relative(repo, f)));
  assert.deepEqual(found, [], `method ids written by hand (derive them from the registry):\n${found.join('\n')}`);
});

test('the registry cache: one fetch for concurrent gets, a failed fetch keeps the last description, a (re)start fetches again', async () => {
  const listeners = new Set<(s: EngineStatus) => void>();
  let answers: (RegistryDescription | Error)[] = [registry, new Error('engine gone'), registry];
  let requests = 0;
  const source = {
    onStateChange: (l: (s: EngineStatus) => void) => (listeners.add(l), { dispose: () => listeners.delete(l) }),
    request: (async (method: string) => {
      assert.equal(method, 'registry/describe');
      requests++;
      const [a, ...rest] = answers;
      answers = rest;
      await new Promise((r) => setTimeout(r, 5));
      if (a instanceof Error) throw a;
      return a;
    }) as unknown as RegistryCache['get'],
  } as unknown as ConstructorParameters<typeof RegistryCache>[0];
  const cache = new RegistryCache(source);
  assert.equal(cache.current, undefined);
  const [x, y] = await Promise.all([cache.get(), cache.get()]);
  assert.equal(x, y);
  assert.equal(requests, 1, 'one request for both');
  const heard: RegistryDescription[] = [];
  cache.onDidChange((r) => heard.push(r));
  for (const l of listeners) l('running');
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(requests, 2, 'a start fetches again');
  assert.equal(cache.current, x, 'the failed fetch kept the last description');
  for (const l of listeners) l('running');
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(requests, 3);
  assert.equal(heard.length, 1);
  cache.dispose();
  for (const l of listeners) l('running');
  assert.equal(requests, 3, 'a disposed cache does not listen');
});
