// The Edit Result view (webview/editResult/, src/extension/panels/editResultPanel.ts) and the
// engine request behind it, 'edits/compare': one edit file, before and after, on the unedited
// model (before = the bare model; after = the bare model with only this edit; the user's stack is
// neither read nor changed).

import type { PanelProtocol } from './webview';

/** One of the k most likely next tokens and its probability (0…1). */
export interface NextToken {
  text: string;
  prob: number;
}

export type ComparedKind = 'prompt' | 'paraphrase' | 'neighbour';

/** A prompt compared before and after: its top-k next tokens and its greedy continuation. */
export interface ComparedPrompt {
  kind: ComparedKind;
  prompt: string;
  /** Where the prompt comes from: "the edit's request", or the data file beside the model (e.g. facts.jsonl). */
  source: string;
  /** The answer the prompt should keep (a neighbour's own answer), when the data knows it. */
  expect?: string;
  before: NextToken[];
  after: NextToken[];
  /** Greedy generations (temperature 0) of maxTokens tokens. */
  generation: { before: string; after: string };
}

/** The fast layer probe: how far a few of ROME's v* steps at each layer raise P(target) (src/core/edits/compare.ts). */
export interface LayerProbe {
  /** Adam steps of the free vector δ added to the layer's MLP output at the subject's last token. */
  steps: number;
  /** Per layer: P(target) on the edit's prompt after those steps (exp mean log P over the target's tokens). */
  layers: { layer: number; targetProb: number }[];
  ms: number;
}

export interface EditHealthRecord {
  targets: { layer: number; module: string; relNorm: number; keyScore?: number }[];
  klNeutral: number;
  warnings: string[];
}

export interface EditCompareParams {
  /** The edit file (.json). */
  file: string;
  /** Next tokens per prompt (default 5). */
  top?: number;
  /** Tokens of each greedy generation (default 12). */
  maxTokens?: number;
  /** Run the fast layer probe (a fact edit only; a few seconds on the bundled model). */
  probe?: boolean;
  progressToken?: string;
}

export interface EditCompareResult {
  /** lti: the edit was computed with LTI (its hparams.lti). */
  edit: { id: string; label: string; method: string; file: string; layers: number[]; preset?: string; lti?: boolean };
  /** The edit's first fact request (absent for edits without one: ROCR, unlearning), and how many it has. */
  request?: { subject: string; prompt: string; target: string; count: number };
  prompts: ComparedPrompt[];
  /** The kinds no prompt was found for, and why (said in the view, never left out in silence). */
  missing: { kind: ComparedKind; why: string }[];
  /** P(target) after the edit's prompt (exp mean log P of its tokens), before and after; top1After: every target token top-1 with the edit. */
  target?: { text: string; before: number; after: number; top1After: boolean };
  /** The subject's original answer (from the model's data), before and after. */
  original?: { text: string; source: string; before: number; after: number };
  /** Whether the edit takes on the bare model (src/core/edits/outcome.ts factOutcome's rule). */
  outcome?: { succeeded: boolean; reason?: string };
  /** The edit file's health record (absent in files written without one). */
  health?: EditHealthRecord;
  probe?: LayerProbe;
  ms: number;
}

/** A layer's predicted effect in the view's "Try layer N" list. */
export interface LayerEffect {
  layer: number;
  /** The trace's MLP indirect effect at the subject's last token (restored − corrupted P(answer), −1…1), or the probe's P(target) (0…1). */
  value: number;
}

/** What the view shows: the engine's comparison, the stack and policy state, and the layer list. */
export interface EditResultData {
  compare: EditCompareResult;
  /** Whether the edit is on the user's stack now. */
  applied: boolean;
  /** Why it is not applied (the apply policy's reason), shown first with Apply Anyway; absent when applied. */
  heldBack?: string;
  /** 'run': the reason the edit's run gave (it was never applied); 'policy': what mechedit.applyPolicy decides now on what edits/compare measured (e.g. after a revert). */
  heldBackBy?: 'run' | 'policy';
  /** Each layer's predicted effect and where it comes from (a causal trace of this prompt, else the fast probe). */
  layers?: { source: 'trace' | 'probe'; how: string; effects: LayerEffect[] };
  /** Whether "Try layer N" can run (a fact edit of a method that takes one layer). */
  canTryLayer: boolean;
}

export interface EditResultPanel extends PanelProtocol {
  requests: {
    /** Compares the edit (edits/compare) and reads the stack: the whole view. */
    load: { params: { file: string }; result: EditResultData };
    /** Puts the edit on the stack (also Apply Anyway). */
    apply: { params: { file: string }; result: { applied: boolean } };
    revert: { params: { id: string }; result: { applied: boolean } };
    /** Runs "Diagnose This Edit" (mechedit.diagnoseEdit). */
    diagnose: { params: { file: string }; result: { started: boolean } };
    /** Computes the same fact edit again with the same method at `layer`; the view then shows the new edit. */
    tryLayer: { params: { file: string; layer: number }; result: { file?: string } };
    openFile: { params: { file: string }; result: { opened: boolean } };
  };
  notifications: {
    /** Shows this edit (and the reason a run gave for not applying it, when there is one). */
    show: { file: string; heldBack?: string };
    /** The edit's place on the stack changed. */
    applied: { applied: boolean };
  };
}
