// Same-subject relational locality of the fact editors on the bundled model's world: n
// counterfactual edits of one relation (default birthplace → another person's birthplace city),
// each measured on the edit prompt (efficacy: the new object top-1, every token teacher-forced) and
// on the same person's other relations (citizenship, native language, occupation, employer; the
// first --templates templates of each): R-Loc = the share of those the model answered right
// (top-1) before the edit that it still answers right after it. One edit at a time on the bare
// model. Methods: rome, memit, dike, and DiKE's ablations dike:paper (the paper's δ loop:
// W5 δ at the subject's last token only) and dike:nofine (without (I + W3ᵀW3)⁻¹); any method may
// name a registry preset, dike@paper, dike@tuned (computeFactEdit with that preset, layer 0).
//
//   node bench/dike-locality.mjs [--n 20] [--seed 7] [--relation birthplace] [--templates 3]
//                                [--methods rome,memit,dike] [--krd FILE] [--out-dir DIR]
import { parseArgs } from 'node:util';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { repo, outOf } from './lib.mjs';

const { values } = parseArgs({ options: {
  n: { type: 'string', default: '20' }, seed: { type: 'string', default: '7' }, relation: { type: 'string', default: 'birthplace' },
  templates: { type: 'string', default: '3' }, methods: { type: 'string', default: 'rome,memit,dike' }, krd: { type: 'string' },
  'out-dir': { type: 'string', default: path.join(repo, 'out') },
} });
process.env.MECHEDIT_CACHE ??= path.join(os.homedir(), '.cache', 'mechedit');
const out = outOf(values['out-dir']);
const { LoadedModel } = out('core/runtime/model.js');
const { EditStack } = out('core/edits/stack.js');
const { computeFactEdit } = out('core/methods/factEditors.js');
const { computeDike } = out('core/edits/dike.js');
const { scoreAnswers } = out('core/runtime/answers.js');
const { mulberry32 } = out('core/runtime/run.js');

const dir = path.join(repo, 'models', 'default');
const model = LoadedModel.open(dir, { provider: 'cpu', threads: 1 });
const world = JSON.parse(fs.readFileSync(path.join(dir, 'world.json'), 'utf8'));
const n = Number(values.n);
const rel = values.relation;
const facts = new Map();
for (const f of world.facts) {
  if (!facts.has(f.subject)) facts.set(f.subject, {});
  facts.get(f.subject)[f.relation] = f.object;
}
const people = world.entities.people.filter((p) => facts.get(p)?.[rel]);
const objects = [...new Set(world.facts.filter((f) => f.relation === rel).map((f) => f.object))];
const rand = mulberry32(Number(values.seed));
const cases = [];
while (cases.length < n) {
  const s = people[Math.floor(rand() * people.length)];
  if (cases.some((c) => c.subject === s)) continue;
  let o;
  do o = objects[Math.floor(rand() * objects.length)]; while (o === facts.get(s)[rel]);
  cases.push({ subject: s, prompt: world.relations[rel].templates[0], target: o });
}
const others = ['birthplace', 'citizenship', 'native_language', 'occupation', 'employer'].filter((r) => r !== rel);
const top = (sc) => sc.tokenTop.every(Boolean);
const methods = values.methods.split(',');
const res = Object.fromEntries(methods.map((m) => [m, { eff: 0, kept: 0, asked: 0, per: {}, ms: 0 }]));
for (const c of cases) {
  const base = new EditStack(model);
  const pairs = others.flatMap((r) => world.relations[r].templates.slice(0, Number(values.templates)).map((t) => ({ r, prompt: t.replace('{}', c.subject), answer: facts.get(c.subject)[r] })));
  const before = await scoreAnswers(model, pairs);
  for (const m of methods) {
    const [method, variant] = m.split(':');
    const [id, preset] = method.split('@');
    const t0 = performance.now();
    const r = preset
      ? await computeFactEdit(id, model, base, [c], { layer: 0, preset, krd: values.krd })
      : method === 'dike'
      ? await computeDike(model, base, c, { layer: 0, krd: values.krd, hparams: variant === 'paper' ? { inLoop: false } : variant === 'nofine' ? { fine: false } : {} })
      : await computeFactEdit(method, model, base, [c], { layer: 0 });
    res[m].ms += performance.now() - t0;
    const withIt = base.fork();
    withIt.apply(r.edit);
    const [eff] = await scoreAnswers(withIt.model, [{ prompt: c.prompt.replace('{}', c.subject), answer: c.target }]);
    res[m].eff += top(eff) ? 1 : 0;
    const after = await scoreAnswers(withIt.model, pairs);
    pairs.forEach((p, k) => {
      if (!top(before[k])) return;
      const kept = top(after[k]) ? 1 : 0;
      res[m].kept += kept;
      res[m].asked++;
      res[m].per[p.r] ??= [0, 0];
      res[m].per[p.r][0] += kept;
      res[m].per[p.r][1]++;
    });
  }
}
const pct = (a, b) => (b ? `${((100 * a) / b).toFixed(1)} %` : '–');
console.log(`${n} counterfactual ${rel} edits (seed ${values.seed}), R-Loc over ${others.join(', ')} (${values.templates} templates each)`);
console.log(`| method | efficacy | R-Loc | ${others.join(' | ')} | s / edit |`);
console.log(`|---|---|---|${others.map(() => '---').join('|')}|---|`);
for (const m of methods) {
  const x = res[m];
  console.log(`| ${m} | ${pct(x.eff, n)} | ${pct(x.kept, x.asked)} | ${others.map((r) => pct(...(x.per[r] ?? [0, 0]))).join(' | ')} | ${(x.ms / n / 1000).toFixed(1)} |`);
}
