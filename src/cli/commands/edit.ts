// `mechedit edit <method>`: compute an edit file.

import { badInput } from '../../core/errors';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EditStack } from '../../core/edits/stack';
import { checkEditOut, newEditId, readEdit, writeEdit, type EditJson } from '../../core/edits/editFile';
import { readVectors } from '../../core/edits/importVectors';
import { computeRocr, defaultRocrSettings } from '../../core/edits/rocr';
import { computeFactEdit, FACT_METHODS, isFactMethod, SINGLE_FACT_METHODS } from '../../core/edits/factEditors';
import { factOutcome, refuseRiskyTargets, SUCCESS_FLOOR, type FactOutcome } from '../../core/edits/outcome';
import { factRequests } from '../../core/edits/requests';
import { applyProjector, nullSpaceFor } from '../../core/edits/nullspace';
import { computeAblation } from '../../core/edits/ablate';
import { editHealth } from '../../core/edits/health';
import { defaultCorpus, keyStats, type KeyStats } from '../../core/edits/stats';
import { intOption, layerList, modelOptions, openModel, openOnCpu, requireString, weightDims, type Command } from '../common';

const EDIT_HELP = [
  'mechedit edit rome   --model DIR --subject S --prompt "{} was born in" --target T [--layer L] [--lti] [--steps N] [--seed N] [--corpus FILE …] [--samples N] [--force] [--out DIR] [--json]',
  'mechedit edit memit  --model DIR --requests FILE [--layers 3,4,…] [--lti] [--lambda X] [--steps N] [--seed N] [--corpus FILE …] [--force] [--out DIR] [--json]',
  'mechedit edit alphaedit --model DIR (--requests FILE | --subject S --prompt P --target T) [--layers 3,4,…] [--threshold 0.1] [--lambda 1] [--lti] [--steps N] [--seed N] [--corpus FILE …] [--edits FILE …] [--force] [--out DIR] [--json]',
  'mechedit edit dike   --model DIR --subject S --prompt P --target T [--layer L] [--krd FILE] [--lambda X] [--steps N] [--seed N] [--corpus FILE …] [--force] [--out DIR] [--json]',
  'mechedit edit glame  --model DIR --subject S --prompt P --target T [--graph FILE] [--subgraph-size N] [--layer L] [--steps N] [--seed N] [--corpus FILE …] [--force] [--out DIR] [--json]',
  'mechedit edit rocr   --model DIR --concept C --to H [--layers 4,5,6] [--lambda X] [--template T …] [--positions last|all] [--regularizer identity|covariance] [--null-space [--threshold 0.02]] [--corpus FILE …] [--out DIR] [--json]',
  'mechedit edit ablate --model DIR --direction FILE --layers L,… [--modules mlp.out,attn.out] [--out DIR] [--json]',
  'mechedit edit import --model DIR --layer L [--module mlp.out|attn.out] --u FILE --v FILE [--label TEXT] [--out DIR] [--json]',
  '',
  '  rome: one fact, rank one at one MLP output projection (v* by gradient descent in the engine; C⁻¹ from the key',
  '        statistics over --corpus, default corpus.txt beside the model); --lti adds EVOKE\'s in-context teacher',
  '  memit: the facts of FILE (JSON Lines or a JSON array of {subject, prompt, target}, or CounterFact records)',
  '        over several layers; rank = number of facts per layer',
  '  alphaedit: MEMIT\'s keys and values, the update projected onto the null space of the key statistics (eigenvalues',
  '        below --threshold × their mean; the projector is cached beside the statistics) and kept off the keys of the',
  '        AlphaEdit edits given with --edits (sequential edits keep each other); --lambda is the ridge × the mean eigenvalue',
  '  dike: one fact, rank one at the layer of its KRD module (--krd FILE, default krd-L<layer>.safetensors beside the',
  '        checkpoint; train one with mechedit dike train): δ on the subject\'s target-related component only, then',
  '        (I + W3ᵀW3)⁻¹ Δ_MEMIT (--lambda: MEMIT\'s λ), which keeps the unrelated component (the subject\'s other facts)',
  '  glame: one fact, ROME whose δ is a 2-layer relational graph network\'s output at the subject over the subgraph of',
  '        the new target (the edit triple and the target\'s own triples, the first --subgraph-size, default 20; 35 on GPT-J)',
  '        from --graph FILE (default world.json beside the model; JSON Lines {subject, relation, object}, or GLAME\'s',
  '        per-case JSON [{case_id, triples: [{subject, relation, target}]}]); the GNN is trained per edit (AdamW) and',
  '        the edit file lists the subgraph it used (hparams.subgraph)',
  '        rome / memit refuse a target the tokenizer splits into byte pieces or more than 8 tokens (--force computes it',
  `        anyway), and say when the edit did not take (its target not top-1 on its own prompt, or P < ${100 * SUCCESS_FLOOR} %):`,
  '        the file is written, with succeeded: false in the output and the reason in its health warnings',
  '  rocr: redirect concept C to the harmless concept H (training-free, rank one per layer; settings default to the',
  '        checkpoint\'s "mechedit.rocr" in config.json, else the paper\'s: layers by depth, λ I, the last token;',
  '        --positions all puts keys on every token of C, for models that read multi-token concepts from their earlier tokens;',
  '        --regularizer covariance solves with λ C (key statistics over --corpus) instead of λ I, so that the edit',
  '        does not respond to unrelated tokens)',
  '  ablate: W ← (I − d dᵀ) W on the output projections of the layers; FILE holds d (.npy or .safetensors, d_model values)',
  '  import: user-made u (d_out) and v (d_in), or U [r, d_out] and V [r, d_in], as ΔW = Uᵀ V',
  '  --out DIR            where <id>.json and <id>.safetensors go (default .mechedit/edits)',
  '  --edits FILE …       edits applied before computing (ROCR adds their keys to C_prev)',
].join('\n');

export const edit: Command = {
  summary: 'compute an edit file: rome, memit (facts), rocr (concept redirection), ablate (a direction), import (user vectors)',
  help: EDIT_HELP,
  options: {
    ...modelOptions, layer: { type: 'string' }, layers: { type: 'string' }, module: { type: 'string' }, modules: { type: 'string' },
    u: { type: 'string' }, v: { type: 'string' }, label: { type: 'string' }, out: { type: 'string' },
    concept: { type: 'string' }, to: { type: 'string' }, lambda: { type: 'string' }, template: { type: 'string', multiple: true }, direction: { type: 'string' },
    corpus: { type: 'string', multiple: true }, samples: { type: 'string' }, 'null-space': { type: 'boolean' }, threshold: { type: 'string' }, positions: { type: 'string' }, regularizer: { type: 'string' },
    subject: { type: 'string' }, prompt: { type: 'string' }, target: { type: 'string' }, lti: { type: 'boolean' }, steps: { type: 'string' }, seed: { type: 'string' }, requests: { type: 'string' },
    force: { type: 'boolean' }, krd: { type: 'string' }, graph: { type: 'string' }, 'subgraph-size': { type: 'string' },
  },
  allowPositionals: true,
  async run(values, ctx) {
    const method = ctx.positionals?.[0];
    const outDir = (values.out as string | undefined) ?? path.join('.mechedit', 'edits');
    if (!isFactMethod(method) && !['rocr', 'ablate', 'import'].includes(method ?? '')) throw badInput(`Unknown edit method ${JSON.stringify(method)}`, { field: 'method', hint: `Use ${FACT_METHODS.join(', ')}, rocr, ablate or import.` });
    const model = method === 'ablate' || method === 'import' ? openOnCpu(values) : await openModel(values);
    checkEditOut(outDir, model.checkpoint);
    const stack = new EditStack(model);
    for (const f of (values.edits as string[] | undefined) ?? []) stack.apply(readEdit(f));
    let result;
    let vstar: unknown;
    let outcome: FactOutcome | undefined;
    if (isFactMethod(method)) {
      const num = (name: string) => {
        if (values[name] === undefined) return undefined;
        const x = Number(values[name]);
        if (!(x > 0) || !Number.isFinite(x)) throw badInput(`--${name} must be a positive number, got "${values[name]}"`, { field: `--${name}` });
        return x;
      };
      const single = SINGLE_FACT_METHODS.includes(method);
      const requests = !single && values.requests !== undefined
        ? factRequests(requireString(values, 'requests'))
        : [{ subject: requireString(values, 'subject'), prompt: requireString(values, 'prompt'), target: requireString(values, 'target') }];
      refuseRiskyTargets(model, requests, values.force === true, 'pass --force');
      const r = await computeFactEdit(method, model, stack, requests, {
        lti: values.lti === true,
        seed: values.seed === undefined ? undefined : intOption(values, 'seed', 0, 0, 2 ** 31),
        corpus: values.corpus as string[] | undefined,
        samples: values.samples === undefined ? undefined : intOption(values, 'samples', 0, 1, 1e9),
        label: values.label as string | undefined,
        steps: values.steps === undefined ? undefined : intOption(values, 'steps', 20, 1, 1000),
        layer: values.layer === undefined ? undefined : intOption(values, 'layer', 0, 0, model.dims.layers - 1),
        layers: layerList(values),
        lambda: num('lambda'),
        threshold: num('threshold'),
        krd: values.krd as string | undefined,
        graph: values.graph as string | undefined,
        subgraphSize: values['subgraph-size'] === undefined ? undefined : intOption(values, 'subgraph-size', 20, 1, 1000),
      });
      result = r.edit;
      outcome = await factOutcome(stack, result, requests);
      vstar = single
        ? { steps: r.vstar[0].steps, timingMs: r.timing, ortMs: r.vstar[0].ortMs, jsMs: r.vstar[0].jsMs }
        : { perRequest: r.vstar.map((v) => ({ steps: v.steps.length, loss: v.steps[v.steps.length - 1].loss, targetProb: v.steps[v.steps.length - 1].targetProb })), timingMs: r.timing };
    } else if (method === 'rocr') {
      const lambda = values.lambda === undefined ? undefined : Number(values.lambda);
      if (lambda !== undefined && !(lambda > 0)) throw badInput(`--lambda must be a positive number, got "${values.lambda}"`, { field: '--lambda' });
      const positions = values.positions as string | undefined;
      if (positions !== undefined && positions !== 'last' && positions !== 'all') throw badInput(`--positions must be last or all, got "${positions}"`, { field: '--positions' });
      const regularizer = values.regularizer as string | undefined;
      if (regularizer !== undefined && regularizer !== 'identity' && regularizer !== 'covariance') throw badInput(`--regularizer must be identity or covariance, got "${regularizer}"`, { field: '--regularizer' });
      // Before the statistics and eigenvectors --null-space needs; the covariance regularizer may be the checkpoint's.
      if (values['null-space'] && (regularizer ?? defaultRocrSettings(model.dims).regularizer) === 'covariance') {
        throw badInput('--null-space and --regularizer covariance are alternatives', { field: '--regularizer', hint: regularizer ? 'Use one of them.' : "This model's config.json recommends the covariance regularizer: add --regularizer identity to use --null-space." });
      }
      const t0 = performance.now();
      // AlphaEdit's null-space projection from the key statistics of each layer.
      let project: ((layer: number, v: Float64Array) => Float64Array) | undefined;
      const nullDims: Record<number, number> = {};
      if (values['null-space']) {
        const corpus = (values.corpus as string[] | undefined) ?? defaultCorpus(model);
        const threshold = values.threshold === undefined ? 0.02 : Number(values.threshold);
        const layers = layerList(values) ?? defaultRocrSettings(model.dims).layers;
        const projectors = new Map<number, (v: Float64Array) => Float64Array>();
        for (const l of layers) {
          const s = await keyStats(model, { layer: l, corpus });
          const p = await nullSpaceFor(model, s, threshold); // τ absolute here (the paper's 0.02), cached beside the statistics
          if (p.dimension === 0) throw badInput(`C at layer ${l} has no eigenvalue below ${threshold}: the null space is empty`, { field: '--threshold', hint: 'Raise --threshold or leave --null-space off.' });
          nullDims[l] = p.dimension;
          projectors.set(l, (v) => applyProjector(p, v));
        }
        project = (layer, v) => projectors.get(layer)!(v);
      }
      result = await computeRocr(model, stack, {
        positions,
        regularizer,
        corpus: values.corpus as string[] | undefined,
        project,
        concept: requireString(values, 'concept'),
        harmless: requireString(values, 'to'),
        layers: layerList(values),
        lambda,
        templates: values.template as string[] | undefined,
        label: values.label as string | undefined,
      });
      result.json.hparams = { ...result.json.hparams, computeMs: Math.round(performance.now() - t0), ...(project ? { nullSpaceDims: nullDims } : {}) };
    } else if (method === 'ablate') {
      const layers = layerList(values);
      if (!layers) throw badInput('--layers is required', { field: '--layers' });
      const modules = ((values.modules as string | undefined) ?? 'mlp.out,attn.out').split(',').map((m) => m.trim());
      if (modules.some((m) => m !== 'mlp.out' && m !== 'attn.out')) throw badInput(`--modules must list mlp.out and/or attn.out, got "${values.modules}"`, { field: '--modules' });
      const dir = readVectors(requireString(values, 'direction'), 'u');
      if (dir.rows !== 1) throw badInput(`The direction must be one vector, got ${dir.rows} rows`, { field: '--direction' });
      result = computeAblation(model, dir.data, layers, modules as ('mlp.out' | 'attn.out')[], values.label as string | undefined);
      result.json.request = { direction: path.resolve(values.direction as string) };
    } else {
      const layer = intOption(values, 'layer', -1, 0, model.dims.layers - 1);
      if (layer < 0) throw badInput('--layer is required', { field: '--layer' });
      const module = (values.module as string | undefined) ?? 'mlp.out';
      if (module !== 'mlp.out' && module !== 'attn.out') throw badInput(`--module must be mlp.out or attn.out, got "${module}"`, { field: '--module' });
      const U = readVectors(requireString(values, 'u'), 'u');
      const V = readVectors(requireString(values, 'v'), 'v');
      if (U.rows !== V.rows) throw badInput(`u has ${U.rows} row(s) but v has ${V.rows}: they must have the same rank`, { field: '--v' });
      const label = (values.label as string | undefined) ?? `manual edit, layer ${layer} ${module}`;
      result = {
        json: {
          format: 'mechedit-edit/1' as const, id: newEditId(label), label, method: 'manual' as const, modelFingerprint: model.checkpoint.fingerprint,
          targets: [{ layer, module: module as 'mlp.out' | 'attn.out', rank: U.rows, U: 'U', V: 'V' }], vectors: '', created: new Date().toISOString(),
          request: { u: path.resolve(values.u as string), v: path.resolve(values.v as string) },
        } satisfies EditJson,
        tensors: [{ U: U.data, V: V.data }],
      };
    }
    stack.check(result); // shapes against the model, before anything is written
    // Health: ‖ΔW‖/‖W‖ and the KL on neutral prompts always; kᵀC⁻¹k when a corpus is given (or
    // the model ships one) and the edit recorded its keys.
    const stats = new Map<number, KeyStats>();
    const corpus = (values.corpus as string[] | undefined) ?? (fs.existsSync(path.join(model.checkpoint.dir, 'corpus.txt')) ? defaultCorpus(model) : undefined);
    if (corpus && result.tensors.some((t) => t.K)) {
      const samples = values.samples === undefined ? undefined : intOption(values, 'samples', 0, 1, 1e9);
      for (const t of result.json.targets) if (t.K && !stats.has(t.layer)) stats.set(t.layer, await keyStats(model, { layer: t.layer, corpus, samples }));
    }
    const health = await editHealth(model, stack, result, stats);
    if (outcome && !outcome.succeeded) health.warnings.unshift(`the edit did not take: ${outcome.reason}`);
    result.json.health = { ...health, ...(outcome ? { efficacy: outcome } : {}) };
    for (const w of health.warnings) process.stderr.write(`mechedit: warning: ${w}\n`);
    const file = writeEdit(outDir, result, weightDims(model), model.checkpoint);
    return { file: path.resolve(file), id: result.json.id, method, ...(outcome ?? {}), targets: result.json.targets.map(({ layer, module, rank }) => ({ layer, module, rank })), hparams: result.json.hparams, health, ...(vstar ? { vstar } : {}) };
  },
  format: (r) => {
    const x = r as { file: string; succeeded?: boolean };
    return x.succeeded === false ? `wrote ${x.file}, but the edit did not take (see the warning above); apply it only on purpose` : `wrote ${x.file}`;
  },
};
