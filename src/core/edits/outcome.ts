// Did a fact edit take? Two checks around ROME / MEMIT, shared by the engine and the CLI:
//   before computing  targetCheck: a target the tokenizer splits into byte pieces (a byte-level
//                     BPE's partial UTF-8 characters, or sentencepiece's <0xNN> fallback) or into
//                     more than TARGET_TOKEN_LIMIT tokens is one the model has never produced as a
//                     word; v* rarely reaches it, and the failed edit still moves the true fact.
//   after computing   factOutcome: with the edit on top of the stack it was computed on, the
//                     target must be the model's greedy continuation of its own prompt (every
//                     token top-1, teacher-forced) with a length-normalised probability
//                     exp(mean log P) of at least SUCCESS_FLOOR. Top-1 alone can win by a hair in
//                     a flat distribution; the floor asks for a quarter of the probability.

import type { LoadedModel } from '../runtime/model';
import { scoreAnswers } from '../runtime/answers';
import { badInput } from '../errors';
import type { Edit } from './editFile';
import type { EditStack } from './stack';
import type { FactRequest } from './rome';
import type { FactEditOutcome, RequestEfficacy, TargetCheck } from '../../protocol/engine';

/** Did the edit take? (whether it was applied is the caller's choice) */
export type FactOutcome = Omit<FactEditOutcome, 'applied'>;

/** P(target) (length-normalised) an edit must reach on its own prompt to count as a success. */
export const SUCCESS_FLOOR = 0.25;
/** Targets longer than this many tokens get a warning before computing (the bundled world's longest answer has 7). */
export const TARGET_TOKEN_LIMIT = 8;

/** How the tokenizer splits a target, and a warning when the split makes the edit unlikely to take. */
export function targetCheck(model: LoadedModel, target: string): TargetCheck {
  const ids = model.tokenizer.encode(` ${target}`, false);
  const raw = model.tokenizer.tokens(` ${target}`, false);
  const tokens = ids.map((id) => model.tokenizer.tokenText(id));
  const bytePieces = tokens.filter((t, i) => (t.includes('\uFFFD') && !target.includes('\uFFFD')) || /^<0x[0-9A-Fa-f]{2}>$/.test(raw[i] ?? '')).length;
  const split = tokens.map((t) => JSON.stringify(t)).join(' ');
  let warning: string | undefined;
  if (bytePieces > 0) warning = `the tokenizer splits "${target}" into ${tokens.length} tokens, ${bytePieces} of them byte pieces (${split}): the model has likely never produced it, and an edit toward it usually fails while still moving the true fact`;
  else if (tokens.length > TARGET_TOKEN_LIMIT) warning = `the tokenizer splits "${target}" into ${tokens.length} tokens (more than ${TARGET_TOKEN_LIMIT}: ${split}): long targets are hard for v* to reach`;
  return { target, tokens, bytePieces, warning };
}

/** Refuses targets with a warning unless forced (the CLI's --force, the engine's `force`). */
export function refuseRiskyTargets(model: LoadedModel, requests: FactRequest[], force: boolean, forceHint: string): TargetCheck[] {
  const checks = requests.map((r) => targetCheck(model, r.target));
  const bad = checks.map((c, i) => ({ c, i })).filter((x) => x.c.warning);
  if (bad.length && !force) {
    const { c, i } = bad[0];
    throw badInput(`Not computing the edit: ${c.warning}`, { field: requests.length > 1 ? `requests[${i}].target` : 'target', hint: `Choose a target the model can write in whole tokens, or ${forceHint} to compute it anyway.` });
  }
  return checks;
}

/** Efficacy of `edit` on its own requests, on a private copy of `stack` with the edit on top (the stack is not changed). */
export async function factOutcome(stack: EditStack, edit: Edit, requests: FactRequest[]): Promise<FactOutcome> {
  const withIt = stack.fork();
  withIt.apply(edit);
  const pairs = requests.map((r) => ({ prompt: r.prompt.replace('{}', r.subject), answer: r.target }));
  const scores = await scoreAnswers(withIt.model, pairs);
  const efficacy = scores.map((s, i) => ({ prompt: pairs[i].prompt, target: pairs[i].answer, targetProb: Math.exp(s.meanLogprob), top1: s.tokenTop.every(Boolean) }));
  const failed = efficacy.filter((e) => !e.top1 || e.targetProb < SUCCESS_FLOOR);
  if (failed.length === 0) return { succeeded: true, efficacy };
  const pct = (p: number) => `${(100 * p).toFixed(p < 0.01 ? 2 : 1)} %`;
  const one = (e: RequestEfficacy) => (e.top1
    ? `P(${JSON.stringify(e.target)} | ${JSON.stringify(e.prompt)}) is ${pct(e.targetProb)}, under the ${pct(SUCCESS_FLOOR)} floor`
    : `${JSON.stringify(e.target)} is not the model's top-1 continuation of ${JSON.stringify(e.prompt)} with the edit applied (P ${pct(e.targetProb)})`);
  const reason = failed.length === 1 ? one(failed[0]) : `${failed.length} of ${efficacy.length} facts did not take: ${failed.slice(0, 3).map(one).join('; ')}${failed.length > 3 ? '; …' : ''}`;
  return { succeeded: false, reason, efficacy };
}
