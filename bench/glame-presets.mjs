// GLAME's presets and the paper preset's ablations on the bundled model: n counterfactual
// birthplace edits (seeded), each on the unedited model; efficacy = the new target top-1 at every
// token of "{subject} was born in" after the edit; seconds per edit on this machine.
//
//   node bench/glame-presets.mjs [--n 8] [--seed 11]
import { parseArgs } from 'node:util';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repo, out } from './lib.mjs';

const { values } = parseArgs({ options: { n: { type: 'string', default: '8' }, seed: { type: 'string', default: '11' } } });
const { LoadedModel } = out('core/runtime/model.js');
const { EditStack } = out('core/edits/stack.js');
const { computeFactEdit } = out('core/methods/factEditors.js');
const { scoreAnswers } = out('core/runtime/answers.js');
const { mulberry32 } = out('core/runtime/run.js');

const dir = path.join(repo, 'models', 'default');
const model = LoadedModel.open(dir, { provider: 'cpu', threads: 1 });
const world = JSON.parse(fs.readFileSync(path.join(dir, 'world.json'), 'utf8'));
const n = Number(values.n);
const rand = mulberry32(Number(values.seed));
const born = world.facts.filter((f) => f.relation === 'birthplace');
const objects = [...new Set(born.map((f) => f.object))];
const cases = [];
while (cases.length < n) {
  const f = born[Math.floor(rand() * born.length)];
  if (cases.some((c) => c.subject === f.subject)) continue;
  let o;
  do o = objects[Math.floor(rand() * objects.length)]; while (o === f.object);
  cases.push({ subject: f.subject, prompt: '{} was born in', target: o });
}
const variants = {
  tuned: { preset: 'tuned' }, paper: { preset: 'paper' }, 'paper, layer 0': { preset: 'paper', layer: 0 },
  'paper, dropout 0': { preset: 'paper', dropout: 0 }, 'paper, 160 steps': { preset: 'paper', steps: 160 },
  cf_plus: { preset: 'cf_plus' }, mquake: { preset: 'mquake' },
};
console.log(`${n} counterfactual birthplace edits (seed ${values.seed}), GLAME on the bundled model`);
console.log('| variant | efficacy | s / edit |');
console.log('|---|---|---|');
for (const [name, s] of Object.entries(variants)) {
  let eff = 0;
  const t0 = performance.now();
  for (const c of cases) {
    const base = new EditStack(model);
    const r = await computeFactEdit('glame', model, base, [c], s);
    const withIt = base.fork();
    withIt.apply(r.edit);
    const [sc] = await scoreAnswers(withIt.model, [{ prompt: c.prompt.replace('{}', c.subject), answer: c.target }]);
    eff += sc.tokenTop.every(Boolean) ? 1 : 0;
  }
  console.log(`| ${name} | ${eff} / ${n} | ${((performance.now() - t0) / n / 1000).toFixed(1)} |`);
}
