// Does the model know the subject of a fact edit? Asked before computing (edits/checkFact): an edit
// of a subject the model has no fact about has nothing to rewrite — ROME's key for an unknown name
// is a generic one, and the update then moves many other facts (issue 33: "Nobody Here" was edited
// with KL 0.16 and ‖ΔW‖/‖W‖ 0.84).
//
// The model's answer is its greedy continuation of the prompt (up to ANSWER_TOKENS tokens) cut at
// the first sentence mark; its probability is length-normalised, exp(mean log P) over the answer's
// tokens (the convention of factOutcome's floor). Under SUBJECT_KNOWN_FLOOR the subject gets a
// warning. The floor comes from bench/unknown-subject.mjs (docs/results/guided-path.md): the
// world's subjects on their training prompts against made-up names on the same prompts.

import type { LoadedModel } from '../runtime/model';
import { generate } from '../runtime/run';
import { scoreAnswers } from '../runtime/answers';
import type { SubjectCheck } from '../../protocol/engine';

/** The length-normalised P of the model's own answer under which a subject counts as unknown. */
export const SUBJECT_KNOWN_FLOOR = 0.99;
/** How many tokens of greedy continuation the answer is read from. */
export const ANSWER_TOKENS = 8;

/** The answer in a greedy continuation: up to the first sentence mark or line end, trimmed. */
export function answerOf(continuation: string): string {
  return continuation.split(/[.,;:!?\n]/)[0].trim();
}

/** The model's answer to `prompt` (the subject filled in), its probability, and a warning when low. */
export async function subjectCheck(model: LoadedModel, prompt: string, subject: string): Promise<SubjectCheck> {
  const filled = prompt.replace('{}', subject);
  const g = await generate(model, filled, { maxTokens: ANSWER_TOKENS });
  const answer = answerOf(g.text) || g.text.trim() || g.tokens[0]?.text.trim() || '';
  if (!answer) return { subject, prompt: filled, continuation: g.text, answer, prob: 0, firstProb: 0, warning: `the model continues "${filled}" with nothing it could be asked to change` };
  const [s] = await scoreAnswers(model, [{ prompt: filled, answer }]);
  const prob = Math.exp(s.meanLogprob);
  const firstProb = Math.exp(s.tokenLogprobs[0]);
  const pct = (p: number) => `${(100 * p).toFixed(1)} %`;
  const warning = prob < SUBJECT_KNOWN_FLOOR
    ? `the model may not know "${subject}": its own answer to "${filled}" is "${answer}" with P ${pct(prob)} (under ${pct(SUBJECT_KNOWN_FLOOR)}); an edit of a subject the model does not know has no fact to rewrite and tends to move other facts`
    : undefined;
  return { subject, prompt: filled, continuation: g.text, answer, prob, firstProb, ...(warning ? { warning } : {}) };
}
