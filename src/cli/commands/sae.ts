// `mechedit sae train|eval|features|steer|changed`: sparse autoencoders on a model's hook points
// (core/sae/): training (TopK / JumpReLU), SAELens-format folders, evaluation on held-out text,
// the top features at each token, steering with a feature, and the features an edit moved.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { badInput } from '../../core/errors';
import { refuseInsideCheckpoint } from '../../core/outputs';
import { f32Tensor, writeSafetensors } from '../../core/checkpoint/writeSafetensors';
import { defaultCorpus } from '../../core/edits/stats';
import { corpusRows, hookActivations } from '../../core/sae/activations';
import { openSae } from '../../core/sae/saeFile';
import { evaluateSae, type SaeEval } from '../../core/sae/evaluate';
import { runSaeTrain, SAE_TRAIN_DEFAULTS } from '../../core/sae/trainJob';
import { featuresChanged, steerWithFeature, topFeaturesAtTokens } from '../../core/sae/features';
import { readEdit } from '../../core/edits/editFile';
import { featurePage, type ConceptSpec } from '../../core/analysis/featurePage';
import { intOption, modelHelp, modelOptions, openModel, requireString, stacks, type Command } from '../common';

const HELP = [
  'mechedit sae train --model DIR --hook blocks.L.TAP --out DIR [--architecture topk|jumprelu] [--width N] [--k N]',
  '                   [--corpus FILE …] [--tokens N] [--epochs N] [--lr X] [--batch N] [--seed N] [--json]',
  'mechedit sae eval --model DIR --sae DIR [--corpus FILE …] [--tokens N] [--save-activations FILE.safetensors] [--json]',
  'mechedit sae features --model DIR --sae DIR --prompt TEXT [--top N] [--json]',
  'mechedit sae feature --model DIR --sae DIR --feature F [--corpus FILE …] [--tokens N] [--concepts FILE.json] [--top N] [--json]',
  'mechedit sae steer --model DIR --sae DIR --feature F --alpha A --prompt TEXT [--max-tokens N] [--json]',
  'mechedit sae changed --model DIR --sae DIR --edit FILE.json [--top N] [--json]',
  modelHelp,
  '  --hook H          blocks.L.{resid_pre|attn_out|mlp.key|mlp_out|resid_post} (TransformerLens spellings too)',
  `  --architecture    topk (AuxK for dead features) or jumprelu (L0 penalty, λ steered to the target L0 --k); default ${SAE_TRAIN_DEFAULTS.architecture}`,
  `  --width N         d_sae (default ${SAE_TRAIN_DEFAULTS.width}); --k N: TopK's k or JumpReLU's target L0 (default ${SAE_TRAIN_DEFAULTS.k})`,
  "  --corpus FILE …   text (default the model's corpus.txt); every 10th document is held out: train never reads it, eval reads only it",
  `  --tokens N        training tokens at most (default ${SAE_TRAIN_DEFAULTS.tokens}); eval: held-out tokens at most (default 50000)`,
  `  --epochs N (${SAE_TRAIN_DEFAULTS.maxEpochs}), --lr X (${SAE_TRAIN_DEFAULTS.lr}), --batch N tokens per step (${SAE_TRAIN_DEFAULTS.batch}), --seed N; early stop on 5 % of the training tokens`,
  '  --sae DIR         a SAELens-format folder (cfg.json + sae_weights.safetensors)',
  '  --save-activations FILE  eval: also write the held-out activations (tensor x [n, d_in]) for tools/sae_reference.py --read',
  '  feature           a feature\'s page: top contexts in the held-out corpus, logit read W_U d_f, histogram, cosines',
  '  --concepts FILE   feature: JSON [{name, positive: [text], negative: [text]}], concept directions to compare d_f with',
  '  --edit FILE       changed: an edit file (ROME, MEMIT, unlearning…); its prompts are read before and after it',
].join('\n');

function num(values: Record<string, unknown>, name: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw === '' || !Number.isFinite(n)) throw badInput(`--${name} must be a number, got "${raw}"`, { field: `--${name}` });
  return n;
}

function formatEval(e: SaeEval): string {
  const lines = [
    `${e.hook}: ${e.tokens} held-out tokens (${e.documents} documents), d_sae ${e.dSae}`,
    `  explained variance ${e.explainedVariance.toFixed(4)}   L0 ${e.l0.toFixed(2)}   MSE ${e.mse.toPrecision(4)}`,
    `  dead ${e.dead} (${((100 * e.dead) / e.dSae).toFixed(1)} %)   dense (>10 % of tokens) ${e.dense}`,
  ];
  if (e.ce) lines.push(`  CE clean ${e.ce.clean.toFixed(4)}   with SAE ${e.ce.sae.toFixed(4)}   zero-ablated ${e.ce.zero.toFixed(4)}   loss recovered ${e.ce.lossRecovered.toFixed(4)}`);
  else lines.push(`  CE: ${e.ceNote}`);
  return lines.join('\n');
}

/** --concepts FILE: a JSON array of {name, positive: [prompts], negative: [prompts]}. */
function readConcepts(file: string): ConceptSpec[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw badInput(`Cannot read the concepts: ${(e as Error).message}`, { file, field: '--concepts' });
  }
  const ok = Array.isArray(parsed) && parsed.every((c) => c && typeof c.name === 'string' && Array.isArray(c.positive) && Array.isArray(c.negative) && [...c.positive, ...c.negative].every((p: unknown) => typeof p === 'string'));
  if (!ok) throw badInput('The concepts file must be a JSON array of {name, positive: [text], negative: [text]}', { file, field: '--concepts' });
  return parsed as ConceptSpec[];
}

type Mode = (values: Record<string, unknown>) => Promise<unknown>;

const MODES: Record<string, Mode> = {
  async train(values) {
    const model = await openModel(values);
    let last = 0;
    return runSaeTrain(model, {
      hook: requireString(values, 'hook'), out: requireString(values, 'out'), architecture: values.architecture as 'topk' | 'jumprelu' | undefined,
      width: values.width === undefined ? undefined : intOption(values, 'width', 0, 1, 1 << 20), k: values.k === undefined ? undefined : intOption(values, 'k', 0, 1, 1 << 20),
      corpus: values.corpus as string[] | undefined, tokens: values.tokens === undefined ? undefined : intOption(values, 'tokens', 0, 100, 1e9),
      maxEpochs: values.epochs === undefined ? undefined : intOption(values, 'epochs', 0, 1, 1000), lr: num(values, 'lr'),
      batch: values.batch === undefined ? undefined : intOption(values, 'batch', 0, 16, 1 << 20), seed: values.seed === undefined ? undefined : intOption(values, 'seed', 0, 0, 2 ** 31),
    }, {
      onPhase: (m) => process.stderr.write(`mechedit sae: ${m}\n`),
      onProgress: (p) => {
        if (Date.now() - last < 2000) return;
        last = Date.now();
        process.stderr.write(`mechedit sae: step ${p.step} (epoch ${p.epoch + 1}, ${p.tokens} tokens) validation FVU ${p.validationFvu.toFixed(4)} L0 ${p.l0.toFixed(1)} dead ${p.dead}${p.lambda !== undefined ? ` λ ${p.lambda.toPrecision(3)}` : ''} ${p.seconds.toFixed(0)} s\n`);
      },
    });
  },
  async eval(values) {
    const model = await openModel(values);
    const sae = openSae(requireString(values, 'sae'), model.dims);
    const rows = corpusRows(model, (values.corpus as string[] | undefined) ?? defaultCorpus(model), 'heldout', values.tokens === undefined ? 50_000 : intOption(values, 'tokens', 0, 1, 1e9));
    const e = await evaluateSae(model, sae, rows.rows);
    const save = values['save-activations'] as string | undefined;
    if (save) {
      refuseInsideCheckpoint(save, model.checkpoint, '--save-activations');
      const { x } = await hookActivations(model, sae.hook, rows.rows);
      writeSafetensors(save, [f32Tensor('x', [x.length / sae.dIn, sae.dIn], x)], { hook: e.hook });
    }
    return { ...e, frequency: undefined, savedActivations: save ? path.resolve(save) : undefined };
  },
  async features(values) {
    const model = await openModel(values);
    const sae = openSae(requireString(values, 'sae'), model.dims);
    return topFeaturesAtTokens(model, sae, requireString(values, 'prompt'), intOption(values, 'top', 5, 1, 100));
  },
  async feature(values) {
    const model = await openModel(values);
    const sae = openSae(requireString(values, 'sae'), model.dims);
    const feature = intOption(values, 'feature', -1, 0, sae.dSae - 1);
    if (feature < 0) throw badInput('--feature is required', { field: '--feature' });
    const rows = corpusRows(model, (values.corpus as string[] | undefined) ?? defaultCorpus(model), 'heldout', values.tokens === undefined ? 20_000 : intOption(values, 'tokens', 0, 1, 1e9));
    const conceptFile = values.concepts as string | undefined;
    const concepts = conceptFile ? readConcepts(conceptFile) : undefined;
    return featurePage(model, stacks.get(model)!, sae, feature, rows.rows, { concepts, top: intOption(values, 'top', 10, 1, 100) });
  },
  async steer(values) {
    const model = await openModel(values);
    const sae = openSae(requireString(values, 'sae'), model.dims);
    const feature = intOption(values, 'feature', -1, 0, sae.dSae - 1);
    if (feature < 0) throw badInput('--feature is required', { field: '--feature' });
    const alpha = num(values, 'alpha');
    if (alpha === undefined) throw badInput('--alpha is required', { field: '--alpha' });
    return steerWithFeature(model, sae, feature, alpha, requireString(values, 'prompt'), intOption(values, 'max-tokens', 20, 1, 1000));
  },
  async changed(values) {
    const model = await openModel(values);
    const sae = openSae(requireString(values, 'sae'), model.dims);
    const edit = readEdit(requireString(values, 'edit'));
    return featuresChanged(stacks.get(model)!, sae, edit, intOption(values, 'top', 10, 1, 1000));
  },
};

export const sae: Command = {
  summary: 'sparse autoencoders: train (TopK / JumpReLU, SAELens format), eval, features at tokens, steer, features an edit changed',
  help: HELP,
  allowPositionals: true,
  options: {
    ...modelOptions, hook: { type: 'string' }, out: { type: 'string' }, architecture: { type: 'string' }, width: { type: 'string' }, k: { type: 'string' },
    corpus: { type: 'string', multiple: true }, tokens: { type: 'string' }, epochs: { type: 'string' }, lr: { type: 'string' }, batch: { type: 'string' }, seed: { type: 'string' },
    sae: { type: 'string' }, prompt: { type: 'string' }, top: { type: 'string' }, feature: { type: 'string' }, alpha: { type: 'string' }, 'max-tokens': { type: 'string' }, edit: { type: 'string' }, 'save-activations': { type: 'string' }, concepts: { type: 'string' },
  },
  async run(values, ctx) {
    const mode = (ctx.positionals ?? []).join(' ');
    const run = MODES[mode];
    if (!run) throw badInput(`Unknown sae mode ${JSON.stringify(mode)}`, { field: 'mode', hint: `Use one of: ${Object.keys(MODES).join(', ')}.` });
    return { mode, ...(await run(values)) as object };
  },
  format(result) {
    const r = result as { mode: string } & Record<string, unknown>;
    if (r.mode === 'eval') return formatEval(r as unknown as SaeEval);
    if (r.mode === 'train') {
      const v = r.validation as { validationFvu: number; l0: number; dead: number } | undefined;
      return `${r.hook}: ${r.architecture} SAE, d_sae ${r.dSae}, k ${r.k}, ${r.tokens} tokens, ${r.steps} steps, ${r.epochs} epoch(s)${r.stoppedEarly ? ' (stopped early)' : ''}, ${(r.seconds as number).toFixed(0)} s${v ? `; validation FVU ${v.validationFvu.toFixed(4)}, L0 ${v.l0.toFixed(1)}, dead ${v.dead}` : ''}\n→ ${r.dir}`;
    }
    return JSON.stringify(result, null, 2);
  },
};
