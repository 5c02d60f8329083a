// The input steps of "Edit a Fact…" (factEdits.ts askRequests): the subject, picked from the
// model's entities (its world.json, the request files' subjects, the recent ones) or typed; the
// prompt, picked from the world's templates and recent prompts or typed; then the new target, with
// the model's current answer (a greedy continuation, model/generate) in the input's prompt and the
// typed target's tokens (edits/checkFact) under it as it is typed.

import * as vscode from 'vscode';
import type { FactRequest } from '../protocol/engine';
import type { EngineService } from './engine/engineService';
import { REQUESTS_GLOB } from './requestLenses';
import { mergeOffers, offerFromModelFolder, offerFromRecent, offerFromRequestLines, RECENT_KEY, subjectPlaceholder, withRecent, type PickerOffer, type Recent } from './factPickerData';

/** Tokens of greedy continuation shown as the model's current answer. */
const ANSWER_TOKENS = 8;
/** Request files read for subjects (the first ones found). */
const REQUEST_FILES = 20;

/** What the picker offers now: the model folder's world, the request files, the recent picks. */
async function currentOffer(engine: EngineService, memory: vscode.Memento): Promise<PickerOffer> {
  const offers = [offerFromRecent(memory.get<Recent>(RECENT_KEY))];
  const world = offerFromModelFolder(engine.model?.path);
  if (world) offers.push(world);
  for (const uri of await vscode.workspace.findFiles(REQUESTS_GLOB, undefined, REQUEST_FILES)) {
    try {
      offers.push(offerFromRequestLines(Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8')));
    } catch {
      // an unreadable request file offers nothing; requestProblems.ts reports it when opened
    }
  }
  return mergeOffers(offers);
}

type Item = vscode.QuickPickItem & { value: string };

/** A quick pick of `values` that also takes what is typed (shown first as "use what you typed"); undefined when dismissed. */
function pickOrType(title: string, placeholder: string, items: Item[], initial?: string): Promise<string | undefined> {
  const qp = vscode.window.createQuickPick<Item>();
  qp.title = title;
  qp.placeholder = placeholder;
  qp.matchOnDescription = true;
  qp.ignoreFocusOut = true;
  qp.items = items;
  if (initial) qp.value = initial;
  const typed = (v: string): Item[] => (v.trim() && !items.some((i) => i.value === v) ? [{ label: v, description: 'as typed', value: v, alwaysShow: true }] : []);
  qp.onDidChangeValue((v) => (qp.items = [...typed(v), ...items]));
  return new Promise((resolve) => {
    let picked: string | undefined;
    qp.onDidAccept(() => {
      picked = (qp.selectedItems[0] ?? qp.activeItems[0])?.value ?? (qp.value.trim() || undefined);
      qp.hide();
    });
    qp.onDidHide(() => {
      qp.dispose();
      resolve(picked);
    });
    qp.show();
  });
}

/** The model's greedy continuation of `filled`, up to the line's end; undefined when the engine cannot say. */
async function currentAnswer(engine: EngineService, filled: string): Promise<string | undefined> {
  try {
    const g = await engine.client.request('model/generate', { prompt: filled, maxTokens: ANSWER_TOKENS });
    return g.text.split('\n')[0];
  } catch {
    return undefined;
  }
}

/** The message under the target input: how the tokenizer splits it, and the warning when there is one. */
async function targetMessage(engine: EngineService, request: Omit<FactRequest, 'target'>, target: string): Promise<vscode.InputBoxValidationMessage | string | undefined> {
  if (!target.trim()) return 'Type the new target.';
  try {
    const t = (await engine.client.request('edits/checkFact', { requests: [{ ...request, target }] })).targets[0];
    const split = `${t.tokens.length} token${t.tokens.length === 1 ? '' : 's'}: ${t.tokens.map((x) => JSON.stringify(x)).join(' ')}`;
    return { message: t.warning ? `${split}. ${t.warning}` : split, severity: t.warning ? vscode.InputBoxValidationSeverity.Warning : vscode.InputBoxValidationSeverity.Info };
  } catch {
    return undefined;
  }
}

/** Asks for the new target of `subject` in `prompt`, saying what the model answers now; undefined when dismissed. */
export async function askTarget(engine: EngineService, subject: string, prompt: string): Promise<string | undefined> {
  const filled = prompt.replace('{}', subject);
  const now = await currentAnswer(engine, filled);
  return vscode.window.showInputBox({
    title: `Edit a fact: ${filled} … (the new target)`,
    prompt: now === undefined ? 'The new target: what the model should answer.' : `The model now answers: "${filled}${now}". Type the new target.`,
    ignoreFocusOut: true,
    validateInput: (v) => targetMessage(engine, { subject, prompt }, v),
  });
}

/** Asks for the subject, the prompt and the target; remembers the subject and prompt; undefined when dismissed. */
export async function askFactRequest(engine: EngineService, memory: vscode.Memento): Promise<FactRequest | undefined> {
  const offer = await currentOffer(engine, memory);
  const subject = await pickOrType('Edit a fact (1/3): the subject', `${subjectPlaceholder(offer)}, or type any name`, offer.subjects.map((s) => ({ label: s.name, description: s.source, value: s.name })));
  if (!subject) return undefined;
  const prompts = offer.prompts.length ? offer.prompts : ['{} was born in'];
  const prompt = await pickOrType(`Edit a fact (2/3): the prompt for ${subject}, with {} where the subject goes`, 'e.g. {} was born in', prompts.map((p) => ({ label: p, description: p.replace('{}', subject), value: p })));
  if (!prompt) return undefined;
  if (!prompt.includes('{}')) {
    void vscode.window.showErrorMessage(`MechEdit: the prompt "${prompt}" has no {} where the subject goes. Type it with {}, e.g. "{} was born in".`);
    return undefined;
  }
  await memory.update(RECENT_KEY, withRecent(memory.get<Recent>(RECENT_KEY), subject, prompt));
  const target = await askTarget(engine, subject, prompt);
  return target ? { subject, prompt, target } : undefined;
}
