// CLI commands: each a parseArgs option table, a runner returning plain data (printed as JSON
// with --json) and a formatter for people.

import type { SelfTestResult } from '../protocol/engine';
import { badInput } from '../core/errors';
import { ortBackends, ortVersion } from '../core/runtime/ort';
import { resolveProvider } from '../core/runtime/providers';
import { selfTest } from '../core/runtime/selftest';
import { modelInfo } from '../core/runtime/info';
import { generate, predict, score, tokenize, trace } from '../core/analysis/run';
import { causalTrace, defaultTraceWindow, type CausalTraceResult } from '../core/analysis/causalTrace';
import { runEvoke, EVOKE_METHODS } from '../core/diagnostics/evokeRun';
import { parseShard, stackRefs } from '../core/diagnostics/runner';
import type { TaskSummary } from '../core/diagnostics/evoke';
import type { OrtResult } from '../core/diagnostics/ort';
import { runOrtTargets } from '../core/diagnostics/ortRun';
import { mergeRuns, type MergeResult } from '../core/diagnostics/merge';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EditStack } from '../core/edits/stack';
import { checkEditOut, newEditId, readEdit, writeEdit, type EditJson } from '../core/edits/editFile';
import { readVectors } from '../core/edits/importVectors';
import { bake, checkBakeOut } from '../core/edits/bake';
import { checkRunFolder } from '../core/outputs';
import { computeRocr, defaultRocrSettings } from '../core/edits/rocr';
import { computeFactEdit, FACT_METHODS, isFactMethod, SINGLE_FACT_METHODS } from '../core/edits/factEditors';
import { factOutcome, refuseRiskyTargets, SUCCESS_FLOOR, type FactOutcome } from '../core/edits/outcome';
import { factRequests } from '../core/edits/requests';
import { applyProjector, nullSpaceFor } from '../core/edits/nullspace';
import { computeAblation } from '../core/edits/ablate';
import { editHealth } from '../core/edits/health';
import { defaultCorpus, keyStats, type KeyStats } from '../core/edits/stats';
import { intOption, layerList, modelHelp, modelOptions, openModel, openOnCpu, providerOption, providerProbes, perCaseOptions, requireString, runFolder, runProgress, stacks, weightDims, type Command } from './common';
import { unlearn } from './unlearn';
import { dike } from './dike';
import { fineKed, formatFineKed } from './fineKed';
import { probes } from './probes';
import { sequential } from './sequential';

export type { Command } from './common';

const doctor: Command = {
  summary: 'check onnxruntime and the execution providers on this machine',
  help: [
    'mechedit doctor [--provider auto|cuda|webgpu|cpu] [--threads N] [--size N] [--iterations N] [--json]',
    '',
    'Resolves the execution provider (auto tries CUDA, then WebGPU, then the CPU, and says why each',
    'one that failed is unusable), then runs a probe graph and checks its result.',
  ].join('\n'),
  options: { provider: { type: 'string' }, threads: { type: 'string' }, size: { type: 'string' }, iterations: { type: 'string' } },
  async run(values) {
    const threads = intOption(values, 'threads', 0, 0, 1024);
    const size = intOption(values, 'size', 256, 1, 8192);
    const iterations = intOption(values, 'iterations', 20, 1, 100_000);
    // Always probes afresh (and refreshes the cached outcomes the other commands use).
    const { provider, probes, probeMs } = await resolveProvider(providerOption(values), { threads }, { fresh: true });
    const result = await selfTest(provider, probes, { size, iterations, threads }, { report: () => undefined, cancelled: false });
    const { output: _output, ...rest } = result;
    return { ortVersion: ortVersion(), ortBackends: ortBackends(), probeMs, ...rest };
  },
  format(r) {
    const res = r as Omit<SelfTestResult, 'output'> & { ortVersion: string; ortBackends: string[]; probeMs: number };
    const sorted = [...res.runMs].sort((a, b) => a - b);
    return [
      `onnxruntime-node ${res.ortVersion} (backends: ${res.ortBackends.join(', ')})`,
      ...res.probes.map((p) => `  ${p.ok ? '✓' : p.skipped ? '–' : '✗'} ${p.provider}${p.reason ? `: ${p.reason}` : ''}`),
      `providers probed in ${res.probeMs.toFixed(0)} ms (CUDA and WebGPU in a child process, whose native log is quoted above)`,
      `provider: ${res.provider}; probe ${res.size}×${res.size}: open ${res.openMs.toFixed(1)} ms, ` +
        `median run ${sorted[Math.floor(sorted.length / 2)].toFixed(3)} ms over ${res.iterations}, max error ${res.maxAbsError.toExponential(2)}`,
    ].join('\n');
  },
};

const jsonOnly = (r: unknown) => JSON.stringify(r, null, 2);

const info: Command = {
  summary: 'describe a checkpoint: architecture, sizes, dtype, provider, tap names',
  help: `mechedit info --model DIR [--json]\n${modelHelp}`,
  options: modelOptions,
  async run(values) {
    const model = await openModel(values);
    return { ...modelInfo(model), providers: providerProbes.get(model) };
  },
  format: jsonOnly,
};

const tokenizeCmd: Command = {
  summary: 'tokenize text with the model\'s tokenizer',
  help: `mechedit tokenize --model DIR --text T [--json]\n${modelHelp}`,
  options: { ...modelOptions, text: { type: 'string' } },
  async run(values) {
    const text = requireString(values, 'text');
    const model = openOnCpu(values);
    return tokenize(model, text);
  },
  format: (r) => {
    const t = r as { ids: number[]; tokens: string[] };
    return t.tokens.map((tok, i) => `${t.ids[i]}\t${JSON.stringify(tok)}`).join('\n');
  },
};

const predictCmd: Command = {
  summary: 'the most likely next tokens after a prompt',
  help: `mechedit predict --model DIR --prompt T [--top K] [--json]\n${modelHelp}`,
  options: { ...modelOptions, prompt: { type: 'string' }, top: { type: 'string' } },
  async run(values) {
    const prompt = requireString(values, 'prompt');
    const k = intOption(values, 'top', 10, 1, 1000);
    return predict(await openModel(values), prompt, k);
  },
  format: (r) => {
    const p = r as Awaited<ReturnType<typeof predict>>;
    return p.next.map((n) => `${n.logprob.toFixed(4)}\t${n.id}\t${JSON.stringify(n.text)}`).join('\n');
  },
};

const scoreCmd: Command = {
  summary: 'score answers after a prompt (mean log-prob of " " + answer, the ROME/EVOKE convention)',
  help: `mechedit score --model DIR --prompt T --answer A [--answer B ...] [--json]\n${modelHelp}`,
  options: { ...modelOptions, prompt: { type: 'string' }, answer: { type: 'string', multiple: true } },
  async run(values) {
    const prompt = requireString(values, 'prompt');
    const answers = (values.answer as string[] | undefined) ?? [];
    return score(await openModel(values), prompt, answers);
  },
  format: (r) => (r as Awaited<ReturnType<typeof score>>).answers.map((a) => `${a.prob.toFixed(6)}\t${a.meanLogprob.toFixed(4)}\t${JSON.stringify(a.text)}`).join('\n'),
};

const traceCmd: Command = {
  summary: 'logit lens and residual norms at every layer and position',
  help: `mechedit trace --model DIR --prompt T [--top K] [--json]\n${modelHelp}`,
  options: { ...modelOptions, prompt: { type: 'string' }, top: { type: 'string' } },
  async run(values) {
    const prompt = requireString(values, 'prompt');
    const k = intOption(values, 'top', 5, 1, 100);
    return trace(await openModel(values), prompt, k);
  },
  format: (r) => {
    const t = r as Awaited<ReturnType<typeof trace>>;
    const head = `layer\t${t.tokens.map((x) => JSON.stringify(x.text)).join('\t')}`;
    return [head, ...t.layers.map((l) => `${l.layer}\t${l.lens.map((x) => `${JSON.stringify(x.text)} ${x.prob.toFixed(2)}`).join('\t')}`)].join('\n');
  },
};

const causalTraceCmd: Command = {
  summary: "ROME's causal tracing: which (token, layer) states carry a fact; recommends the edit layer",
  help: `mechedit causal-trace --model DIR --prompt T --subject S [--answer A] [--samples 10] [--window W (default: 10 layers of 48, by depth)] [--json]\n${modelHelp}`,
  options: { ...modelOptions, prompt: { type: 'string' }, subject: { type: 'string' }, answer: { type: 'string' }, samples: { type: 'string' }, window: { type: 'string' } },
  async run(values) {
    const model = await openModel(values);
    return causalTrace(model, {
      prompt: requireString(values, 'prompt'),
      subject: requireString(values, 'subject'),
      answer: values.answer as string | undefined,
      samples: intOption(values, 'samples', 10, 1, 1000),
      window: intOption(values, 'window', defaultTraceWindow(model.dims.layers), 1, 1000),
    });
  },
  format: (r) => {
    const x = r as CausalTraceResult;
    const verdict = x.recommendedLayer !== undefined ? `recommended layer ${x.recommendedLayer}` : `not informative, no layer recommended: ${x.reason}`;
    const head = `P(${JSON.stringify(x.answer.text)}): clean ${x.cleanProb.toFixed(4)}, corrupted ${x.corruptedProb.toFixed(4)}; ${verdict}`;
    const cut = x.answerGiven ? [`The answer ${JSON.stringify(x.answerGiven.text)} is ${x.answerGiven.tokens} tokens: only its first token, ${JSON.stringify(x.answer.text)}, is traced.`] : [];
    const rows = x.scores.mlp.map((row, l) => `${String(l).padStart(3)} ${row.map((v) => v.toFixed(3)).join(' ')}`);
    return [head, ...cut, `MLP restorations (rows: layers; columns: ${x.tokens.map((t) => JSON.stringify(t.text)).join(' ')})`, ...rows].join('\n');
  },
};

const generateCmd: Command = {
  summary: 'generate text with a KV cache (greedy, or sampled with --temperature)',
  help: `mechedit generate --model DIR --prompt T --max-tokens N [--temperature T] [--top-k K] [--seed S] [--json]\n${modelHelp}`,
  options: { ...modelOptions, prompt: { type: 'string' }, 'max-tokens': { type: 'string' }, temperature: { type: 'string' }, 'top-k': { type: 'string' }, seed: { type: 'string' } },
  async run(values, ctx) {
    const prompt = requireString(values, 'prompt');
    const maxTokens = intOption(values, 'max-tokens', 32, 1, 1_000_000);
    const temperature = values.temperature === undefined ? 0 : Number(values.temperature);
    if (!Number.isFinite(temperature) || temperature < 0) throw badInput(`--temperature must be ≥ 0, got "${values.temperature}"`, { field: '--temperature' });
    const model = await openModel(values);
    if (!ctx.json) process.stdout.write(prompt);
    const result = await generate(model, prompt, {
      maxTokens,
      temperature,
      topK: values['top-k'] === undefined ? undefined : intOption(values, 'top-k', 0, 1, 1_000_000),
      seed: intOption(values, 'seed', 0, 0, 2 ** 31),
      onToken: ctx.json ? undefined : (t) => process.stdout.write(t.text),
    });
    return result;
  },
  format: (r) => `\n[${(r as Awaited<ReturnType<typeof generate>>).tokens.length} tokens, ${(r as Awaited<ReturnType<typeof generate>>).tokensPerSecond.toFixed(1)} tokens/s]`,
};

function formatSummary(tasks: Record<string, TaskSummary>): string {
  const rows = Object.entries(tasks).map(([task, t]) =>
    `| ${task} | ${t.cases} | ${Object.entries(t.indicators).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')} | ${Object.entries(t.probs).map(([k, v]) => `${k} ${v.toPrecision(3)}`).join(', ')} |`);
  return ['| task | cases | indicators (×100) | mean probabilities (×100) |', '|---|---|---|---|', ...rows].join('\n');
}

const evoke: Command = {
  summary: 'EVOKE diagnostics (efficacy, paraphrase, multi-hop, prefix distraction, specificity) over a data file',
  help: [
    `mechedit evoke --model DIR --data evoke_main.json [--subj-spec evoke_subj_spec.json] --method ${EVOKE_METHODS.join('|')} [--lti]`,
    '               [--layer L | --layers …] [--corpus FILE …] [--limit N] [--out DIR] [--resume] [--shard i/n] [--json]',
    modelHelp,
    '  --data FILE          evoke_main.json or a CounterFact-format file',
    '  --subj-spec FILE     evoke_subj_spec.json (subject specificity)',
    `  --method M           ${EVOKE_METHODS.join('|')}: none scores the model as it is; the fact editors compute each case's`,
    '                       edit (on top of --edits), apply it, score the case and revert it',
    '  --lti                EVOKE\'s LTI for the per-case edits; --layer (ROME, DiKE) / --layers (MEMIT, AlphaEdit) override the defaults',
    '  --corpus FILE …      key statistics corpus for the per-case edits (default corpus.txt beside the model)',
    '  --limit N            the first N records of each file',
    '  --out DIR            run folder: run.json, cases.jsonl (one line per case), summary.json, report.html',
    '  --resume             continue a run folder after a crash or cancel',
    '  --shard i/n          only cases i, i+n, i+2n, … (0 ≤ i < n); merge the folders with mechedit merge',
    '  --edits FILE …       a fixed edit stack for the whole run',
    '  --baseline DIR       a finished run (e.g. without edits) to show as "before" in the report',
  ].join('\n'),
  options: {
    ...modelOptions, data: { type: 'string' }, 'subj-spec': { type: 'string' }, method: { type: 'string' }, limit: { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' }, shard: { type: 'string' }, baseline: { type: 'string' },
    lti: { type: 'boolean' }, layer: { type: 'string' }, layers: { type: 'string' }, corpus: { type: 'string', multiple: true },
  },
  async run(values) {
    const data = requireString(values, 'data');
    const method = (values.method as string | undefined) ?? 'none';
    const model = await openModel(values);
    const perCase = perCaseOptions(values, model, method !== 'none');
    const shard = parseShard(values.shard as string | undefined);
    const out = runFolder(values, 'evoke', method, shard);
    checkRunFolder(out, model.checkpoint);
    const result = await runEvoke(model, {
      data,
      subjSpec: values['subj-spec'] as string | undefined,
      method,
      limit: values.limit === undefined ? undefined : intOption(values, 'limit', 0, 1, 10_000_000),
      shard,
      out,
      resume: !!values.resume,
      edits: stackRefs(stacks.get(model)!),
      baseline: values.baseline as string | undefined,
      perCase,
      log: (m) => process.stderr.write(`mechedit: ${m}\n`),
      onProgress: runProgress('evoke'),
    });
    return { out: path.resolve(result.out), cases: result.cases, skippedRecords: result.issues, tasks: result.summary };
  },
  format: (r) => {
    const x = r as { out: string; cases: number; skippedRecords: unknown[]; tasks: Record<string, TaskSummary> };
    return `${formatSummary(x.tasks)}\n\n${x.cases} cases, ${x.skippedRecords.length} records skipped; results in ${x.out} (report.html)`;
  },
};

function formatOrt(results: OrtResult[]): string {
  const lines = ['| target | set | form | items | loss_prob before | after | change | token acc. before | after | change |', '|---|---|---|---|---|---|---|---|---|---|'];
  for (const r of results) {
    for (const row of r.rows) {
      const a = row.after;
      const d = (x: number | undefined, y: number) => (x === undefined ? '–' : (x - y >= 0 ? '+' : '') + (x - y).toFixed(4));
      lines.push(`| ${r.target} | ${row.set} | ${row.form} | ${row.before.items} | ${row.before.lossProb.toFixed(4)} | ${a ? a.lossProb.toFixed(4) : '–'} | ${d(a?.lossProb, row.before.lossProb)} | ${row.before.tokenAccuracy.toFixed(3)} | ${a ? a.tokenAccuracy.toFixed(3) : '–'} | ${d(a?.tokenAccuracy, row.before.tokenAccuracy)} |`);
    }
  }
  return lines.join('\n');
}

const ort: Command = {
  summary: 'ORT diagnostics: does unlearning hold in every form (cloze, question, adversarial, multiple choice, true/false, character by character)?',
  help: [
    'mechedit ort --model DIR --target DIR [--edits FILE …] [--limit N] [--out DIR] [--resume] [--shard i/n] [--json]',
    modelHelp,
    '  --target DIR         Target/<n>_<Name>/ (forget_level1.json … neighbor_mcp.json), or Target/ with many',
    '  --limit N            the first N targets',
    '  --out DIR            run folder: run.json, cases.jsonl (one line per target), issues.json, summary.json',
    '  --resume             continue a run folder after a crash or cancel (same model, edits, targets, limit, shard)',
    '  --shard i/n          only targets i, i+n, i+2n, … (0 ≤ i < n); merge the folders with mechedit merge',
    'Scores are measured without the edits and with them; forget: lower is better, neighbour: higher.',
  ].join('\n'),
  options: { ...modelOptions, target: { type: 'string' }, limit: { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' }, shard: { type: 'string' } },
  async run(values) {
    const target = requireString(values, 'target');
    const shard = parseShard(values.shard as string | undefined);
    const limit = values.limit === undefined ? undefined : intOption(values, 'limit', 0, 1, 10_000_000);
    const model = await openModel(values);
    const out = values.out as string | undefined;
    if (out) checkRunFolder(out, model.checkpoint);
    const result = await runOrtTargets(model, stacks.get(model)!, {
      target,
      out,
      resume: !!values.resume,
      shard,
      limit,
      log: (m) => process.stderr.write(`mechedit: ${m}\n`),
      onProgress: (p) => process.stderr.write(`mechedit ort: ${p.done}/${p.total} targets\n`),
    });
    return { ...(result.out ? { out: path.resolve(result.out) } : {}), targets: result.targets };
  },
  format: (r) => formatOrt((r as { targets: OrtResult[] }).targets),
};

const merge: Command = {
  summary: 'merge the run folders of a sharded evoke, fine-ked or ort run into one',
  help: [
    'mechedit merge --out DIR RUN_DIR… [--json]',
    '  RUN_DIR…             the --out folders of every shard of one run (--shard 0/n … n-1/n), each finished',
    '  --out DIR            a new folder: run.json, cases.jsonl, summary.json (and, for evoke and fine-ked, report.html)',
    'Refused unless the folders are the same run (model, edits, data, method, settings, limit) and every',
    'shard is there once; the shard folders are only read.',
  ].join('\n'),
  options: { out: { type: 'string' } },
  allowPositionals: true,
  async run(values, ctx) {
    const out = requireString(values, 'out');
    checkRunFolder(out);
    return mergeRuns(ctx.positionals ?? [], out);
  },
  format: (r) => {
    const x = r as MergeResult;
    const table = x.tool === 'ort' ? formatOrt(x.targets ?? []) : x.fineKed ? formatFineKed(x.fineKed) : formatSummary(x.tasks);
    return `${table}\n\nmerged ${x.merged} folders, ${x.cases} ${x.tool === 'ort' ? 'targets' : 'cases'} → ${x.out}`;
  },
};

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

const edit: Command = {
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

const stats: Command = {
  summary: 'key statistics C = E[k kᵀ] of the MLP output-projection inputs at a layer (cached)',
  help: [
    'mechedit stats --model DIR --layer L [--corpus FILE …] [--samples N] [--json]',
    modelHelp,
    '  --corpus FILE …   text files (default: corpus.txt beside the model)',
    '  --samples N       key vectors to average (default 10 × d_mlp)',
  ].join('\n'),
  options: { ...modelOptions, layer: { type: 'string' }, corpus: { type: 'string', multiple: true }, samples: { type: 'string' } },
  async run(values) {
    const model = await openModel(values);
    const layer = intOption(values, 'layer', -1, 0, model.dims.layers - 1);
    if (layer < 0) throw badInput('--layer is required', { field: '--layer' });
    const corpus = (values.corpus as string[] | undefined) ?? defaultCorpus(model);
    const t0 = performance.now();
    let last = 0;
    const s = await keyStats(model, {
      layer,
      corpus,
      samples: values.samples === undefined ? undefined : intOption(values, 'samples', 0, 1, 1e9),
      onProgress: (done, total) => {
        if (Date.now() - last < 1000) return;
        last = Date.now();
        process.stderr.write(`mechedit stats: ${done}/${total} key vectors\n`);
      },
    });
    const seconds = (performance.now() - t0) / 1000;
    let trace = 0;
    for (let i = 0; i < s.dim; i++) trace += s.C[i * s.dim + i];
    return { layer, dMlp: s.dim, count: s.count, file: s.file, cached: s.cached, seconds, keysPerSecond: s.cached ? undefined : s.count / seconds, meanSquaredKeyNorm: trace };
  },
  format: (r) => {
    const x = r as { layer: number; count: number; file: string; cached: boolean; seconds: number; keysPerSecond?: number };
    return `layer ${x.layer}: ${x.count} key vectors${x.cached ? ' (cached)' : `, ${x.keysPerSecond?.toFixed(0)} keys/s`} → ${x.file}`;
  },
};

const bakeCmd: Command = {
  summary: 'write a new checkpoint folder with edits baked into the weights',
  help: 'mechedit bake --model DIR --edits FILE … --out DIR2 [--json]\n  The source checkpoint is only read; DIR2 must be new or empty.',
  options: { ...modelOptions, out: { type: 'string' } },
  async run(values) {
    const out = requireString(values, 'out');
    if (!(values.edits as string[] | undefined)?.length) throw badInput('--edits is required', { field: '--edits' });
    const model = openOnCpu(values);
    checkBakeOut(out, model.checkpoint);
    const stack = new EditStack(model);
    for (const f of values.edits as string[]) stack.apply(readEdit(f));
    return bake(model, out, stack.list());
  },
  format: (r) => `baked ${(r as { modified: string[] }).modified.length} weight(s) into ${(r as { out: string }).out}`,
};

export const commands: Record<string, Command> = {
  ort,
  edit,
  unlearn,
  dike,
  stats,
  bake: bakeCmd,
  evoke,
  'fine-ked': fineKed,
  probes,
  sequential,
  merge,
  info,
  tokenize: tokenizeCmd,
  predict: predictCmd,
  score: scoreCmd,
  trace: traceCmd,
  'causal-trace': causalTraceCmd,
  generate: generateCmd,
  doctor,
};
