// Commands that read a model without editing it: info, tokenize, predict, score, trace, causal-trace, generate.

import { badInput } from '../../core/errors';
import { modelInfo } from '../../core/analysis/info';
import { generate, MAX_TEMPERATURE, predict, score, tokenize, trace } from '../../core/runtime/run';
import { causalTrace, defaultTraceWindow, type CausalTraceResult } from '../../core/analysis/causalTrace';
import { intOption, modelHelp, modelOptions, openModel, openOnCpu, providerProbes, requireString, type Command } from '../common';

const jsonOnly = (r: unknown) => JSON.stringify(r, null, 2);

export const info: Command = {
  summary: 'describe a checkpoint: architecture, sizes, dtype, provider, tap names',
  help: `mechedit info --model DIR [--json]\n${modelHelp}`,
  options: modelOptions,
  async run(values) {
    const model = await openModel(values);
    return { ...modelInfo(model), providers: providerProbes.get(model) };
  },
  format: jsonOnly,
};

export const tokenizeCmd: Command = {
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

export const predictCmd: Command = {
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

export const scoreCmd: Command = {
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

export const traceCmd: Command = {
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

export const causalTraceCmd: Command = {
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

export const generateCmd: Command = {
  summary: 'generate text with a KV cache (greedy, or sampled with --temperature)',
  help: `mechedit generate --model DIR --prompt T --max-tokens N [--temperature T] [--top-k K] [--seed S] [--json]\n${modelHelp}`,
  options: { ...modelOptions, prompt: { type: 'string' }, 'max-tokens': { type: 'string' }, temperature: { type: 'string' }, 'top-k': { type: 'string' }, seed: { type: 'string' } },
  async run(values, ctx) {
    const prompt = requireString(values, 'prompt');
    const maxTokens = intOption(values, 'max-tokens', 32, 1, 1_000_000);
    const temperature = values.temperature === undefined ? 0 : Number(values.temperature);
    if (!Number.isFinite(temperature) || temperature < 0 || temperature > MAX_TEMPERATURE) throw badInput(`--temperature must be a number from 0 up to ${MAX_TEMPERATURE}, got "${values.temperature}"`, { field: '--temperature' });
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
