// EVOKE, FINE-KED and ORT results as they travel from the engine to the Diagnostics panel.

/** One EVOKE task over the cases: indicators and probabilities, both × 100. */
export interface TaskSummary {
  cases: number;
  indicators: Record<string, number>;
  probs: Record<string, number>;
}

/** One case's task: indicators (1 = the desired answer wins) and probabilities, 0…1. */
export interface CaseTask {
  indicators: Record<string, number>;
  probs: Record<string, number>;
  /** Per answer: share of prompts where every token of it is the top-1 prediction (teacher-forced). */
  top1?: Record<string, number>;
  prompts: number;
}

export interface CaseRow {
  kind: 'main' | 'subject';
  caseId: number;
  subject: string;
  targetNew: string;
  targetTrue: string;
  tasks: Record<string, CaseTask>;
}

/**
 * Method none (the edit stack as it is): which edits were applied, and how many of the run's cases
 * have their own requested fact (subject and new target o*) among those edits' fact requests. A
 * case whose edit is not in the stack scores the unedited model's efficacy: 0 → 0 says nothing.
 */
export interface StackMatch {
  /** Labels of the applied edits (enabled, strength ≠ 0), in stack order. */
  edits: string[];
  /** Cases whose subject and o* are a fact request of one of these edits. */
  matching: number;
  /** Cases measured (EVOKE: its main cases, which carry the efficacy task). */
  cases: number;
}

/** EVOKE without the edits ('before') and with them or with each case's own edit ('after'). */
export interface EvokeDiagnostics {
  method: string;
  /** Method none: the applied edits and how many cases they match (absent in older results and per-case runs). */
  stack?: StackMatch;
  /** The per-case edits' settings as run (recorded in the run folders' config too). */
  settings?: { layer?: number; layers?: number[]; lambda?: number; preset?: string };
  data: string[];
  before: Record<string, TaskSummary>;
  after: Record<string, TaskSummary>;
  /** CounterFact's ES / PS / NS and magnitudes, before and after. */
  counterfact?: { before: CounterFactSummary; after: CounterFactSummary };
  beforeCases: CaseRow[];
  afterCases: CaseRow[];
  /** Run folders (cases.jsonl, summary.json, report.html). */
  out: { before: string; after: string };
  issues: number;
  seconds: number;
}

// FINE-KED (core/diagnostics/fineKed.ts defines the metrics).

export type FineLevel = 'easy' | 'middle' | 'hard';

/** FINE-KED: one fact of the edit's subject with another relation, after the edit (core/diagnostics/fineKed.ts). */
export interface FactScore {
  relation?: string;
  level: FineLevel;
  prompt: string;
  answer: string;
  /** The reference model answered it top-1 on every token. */
  known: boolean;
  /** Fraction of the answer's tokens still top-1 (R-Loc of this fact; meaningful when known). */
  rloc: number;
  top1: number;
  /** 1 when P(o') > P(o*). */
  wins: number;
}

/** success / top1: 0…1, means over the task's prompts. */
export interface PromptTask {
  success: number;
  top1: number;
  /** CounterFact's magnitude: mean over the prompts of P(desired) − P(other) (absent in runs before counterfact-v1). */
  magnitude?: number;
  prompts: number;
}

export interface FineKedResult {
  caseId: number;
  subject: string;
  relation?: string;
  targetNew: string;
  targetTrue: string;
  efficacy: PromptTask;
  paraphrase?: PromptTask;
  neighbourhood?: PromptTask;
  facts: FactScore[];
}

/** Per level, × 100 over the level's known facts. */
export interface LevelSummary {
  facts: number;
  known: number;
  rloc: number;
  top1: number;
  wins: number;
}

export interface WorstCase {
  caseId: number;
  subject: string;
  relation?: string;
  targetNew: string;
  targetTrue: string;
  /** Mean R-Loc of the case's known facts, × 100. */
  rloc: number;
  /** Known facts no longer top-1 on every token. */
  lost: { relation?: string; level: FineLevel; prompt: string; answer: string }[];
}

export interface FineKedSummary {
  cases: number;
  efficacy: { success: number; top1: number };
  paraphrase: { cases: number; success: number; top1: number };
  neighbourhood: { cases: number; success: number; top1: number };
  levels: Record<FineLevel, LevelSummary>;
  /** Means of the levels that have known facts. */
  average: { rloc: number; top1: number; wins: number };
  /** Facts the reference model did not know (left out of R-Loc). */
  unknown: number;
  /**
   * Up to 10 cases that lost the most, lowest R-Loc first (only cases below 100), among the cases
   * whose edit was applied in the run: each case's own edit, or (method none) the cases the stack's
   * edits match (`stack`).
   */
  worst: WorstCase[];
  /** Method none: the applied edits and how many cases they match (absent in older runs and per-case runs). */
  stack?: StackMatch;
  /** CounterFact's ES / PS / NS and magnitudes over the same prompts (core/diagnostics/counterfact.ts). */
  counterfact?: CounterFactSummary;
}

/** FINE-KED for the Diagnostics panel: 'before' is method none on the model without edits, 'after' the stack (method none) or each case's own edit. */
export interface FineKedDiagnostics {
  kind: 'fine-ked';
  method: string;
  /** Method none: the applied edits and how many cases they match (also in after.stack). */
  stack?: StackMatch;
  settings?: { layer?: number; layers?: number[]; lambda?: number; preset?: string };
  data: string;
  before: FineKedSummary;
  after: FineKedSummary;
  /** Run folders (cases.jsonl, summary.json, report.html). */
  out: { before: string; after: string };
  issues: number;
  seconds: number;
}

export interface FormScore {
  items: number;
  lossProb: number;
  tokenAccuracy: number;
}

/** ORT per target folder: loss_prob and token accuracy per set × form, without and with the edits. */
export interface OrtDiagnostics {
  targets: { target: string; rows: { set: string; form: string; before: FormScore; after?: FormScore }[]; skipped: number }[];
  enabledEdits: number;
  seconds: number;
}

/** One probe's scores, 0…1: P(expect) length-normalised; top1 = 1 when every token of expect is the most likely; wins = 1 when expect beats versus (no versus: absent). Task means likewise. */
export interface EditProbeScore {
  p: number;
  top1: number;
  wins?: number;
}

/** One task of "Diagnose This Edit" for one fact: its probes before (no edits) and after (only this edit), or why there are none. */
export interface EditProbeTask {
  task: 'efficacy' | 'paraphrase' | 'otherRelations' | 'neighbours' | 'prefix';
  /** The data file the prompts come from. */
  source?: string;
  /** Why the task could not be measured (no data for it); then there are no rows and no scores. */
  missing?: string;
  before?: EditProbeScore;
  after?: EditProbeScore;
  rows: { prompt: string; expect: string; versus?: string; before: EditProbeScore; after: EditProbeScore }[];
}

export interface EditFactDiagnosis {
  request: { subject: string; prompt: string; target: string };
  trueAnswer?: string;
  relation?: string;
  tasks: EditProbeTask[];
}

/** ORT's forms of the concept an edit recorded (ROCR), without / with only this edit, or why not. */
export interface EditConceptDiagnosis {
  concept: string;
  target?: string;
  rows?: { set: string; form: string; before: FormScore; after?: FormScore }[];
  skipped?: number;
  missing?: string;
}

/** "Diagnose This Edit": one edit alone, on its own request (fact probes, or ORT for a concept). */
export interface EditDiagnostics {
  kind: 'edit';
  /** The edit; `preset`: the preset its file records (the panel's host reads it; absent for files without one). */
  edit: { id: string; label: string; method: string; file?: string; preset?: string };
  /** One entry per fact request of the edit (ROME one, MEMIT one per fact). */
  facts: EditFactDiagnosis[];
  concept?: EditConceptDiagnosis;
  seconds: number;
}

/** 'none' (the edit stack), or a fact editor of the registry with capabilities.perCase (each case's own edit). */
export type DiagnosticsMethod = string;

export interface DiagnosticsParams {
  /** A diagnostic plugin's id (core/diagnostics/plugins: evoke, fine-ked, probes, ort); checked by the engine. */
  kind: string;
  /** EVOKE: evoke_main.json-format file (default: eval/evoke.json beside the model); FINE-KED: its records (default eval/fine_ked.json); probes: its cases (default eval/probes.json). */
  data?: string;
  subjSpec?: string;
  /** ORT: a target folder or a Target/ folder of them (default: eval/ort beside the model). */
  target?: string;
  /** 'none' measures the stack; a fact editor computes each case's own edit (FINE-KED: also 'context'). */
  method?: DiagnosticsMethod;
  lti?: boolean;
  /** The per-case edits' preset (a preset of `method`; absent: its default); taken by the diagnostics whose descriptor has a `preset` setting. */
  preset?: string;
  /** Per-case ROME's layer (the one picked with "Use layer N for edits"); absent: the model's default. */
  layer?: number;
  /** Per-case MEMIT's layers; absent: the model's default. */
  layers?: number[];
  /** Per-case λ of the methods that take one (MEMIT's: mechedit.memit.lambda in VS Code); absent: the method's default. */
  lambda?: number;
  limit?: number;
  /** Where the run folders go (absolute): outDir/<time>-<tool>-<method>[-lti]. */
  outDir: string;
  progressToken?: string;
}

// Knowledge-paradigm probes (core/diagnostics/probes.ts defines the metrics; all 0…1 per case).

/** One model (or one in-context statement) scored on a case's probes. */
export interface ProbeView {
  /** The edit prompt: success = P(o*) > P(o); top1 = every token of o* top-1; p: length-normalised probabilities. */
  efficacy: { success: number; top1: number; pNew: number; pOld: number };
  /** Every form (template, question) of the fact: its top-1 answer among the case's candidates. */
  consistency: { forms: number; answers: string[]; agreement: number; newShare: number; entropy: number };
  /** The inverse question about o*, scoring s against the world's answer before; gap = efficacy.success − success. */
  reversal?: { prompts: number; success: number; top1: number; pSubject: number; gap: number };
  /** Two-hop questions through the edited fact: the answer through o* against the one through o. */
  ripple?: { questions: number; success: number; top1: number; pNew: number; pOld: number };
  /** The subject's other facts known to the reference model: share of answer tokens still top-1. */
  rloc: { facts: number; known: number; rloc: number };
}

/** Context–memory conflict: which of o* and o wins when the other is stated in the prompt. */
export interface ProbeConflict {
  /** The measured model (after the edit) with the old fact stated before the edit prompt; winner memory = o*. */
  oldInContext: { pNew: number; pOld: number; winner: 'memory' | 'context' };
  /** The unedited model with the new fact stated before the edit prompt; winner context = o*. */
  newInContext: { pNew: number; pOld: number; winner: 'memory' | 'context' };
}

export interface ProbeResult {
  caseId: number;
  subject: string;
  relation?: string;
  targetNew: string;
  targetTrue: string;
  /** The edit stack (with the case's edit) scored on plain prompts. */
  parametric: ProbeView;
  /** The model without the case's edit, the new fact stated before every prompt. */
  inContext: ProbeView;
  conflict: ProbeConflict;
  /** Why the case has no reversal probe. */
  reversalAbsent?: string;
}

/** Means × 100 over the cases that have the probe (entropy in bits). */
export interface ProbeViewSummary {
  efficacy: number;
  efficacyTop1: number;
  /** CounterFact's efficacy magnitude: mean P(o*) − P(o) on the edit prompt, × 100. */
  efficacyMagnitude?: number;
  agreement: number;
  newShare: number;
  entropy: number;
  reversal: { cases: number; success: number; gap: number };
  /** Two-hop questions (MQuAKE-style, teacher-forced): success = P(new) > P(old); magnitude = mean P(new) − P(old). */
  ripple: { cases: number; success: number; top1: number; magnitude?: number };
  rloc: number;
}

export interface ProbeSummary {
  cases: number;
  parametric: ProbeViewSummary;
  inContext: ProbeViewSummary;
  /** Share (× 100) of cases where the edit (memory) wins over the old fact in context, and where the new fact in context wins over the unedited memory. */
  conflict: { editWinsOverOldContext: number; newContextWinsOverMemory: number };
}

/** The cases probed for one edit of the stack (or all cases: no edit, or each case's own edit). */
export interface ProbeGroup {
  edit?: { id: string; label: string; method: string };
  /** What was probed, in words. */
  note: string;
  results: ProbeResult[];
}

/** Knowledge probes for the Diagnostics panel: per edit and case, parametric vs in-context, conflicts. */
export interface ProbesDiagnostics {
  kind: 'probes';
  method: string;
  data: string;
  groups: ProbeGroup[];
  summary: ProbeSummary;
  /** The run folder (cases.jsonl, summary.json). */
  out?: string;
  issues: number;
  seconds: number;
}

// The papers' metrics (core/diagnostics/counterfact.ts, zsre.ts) and the protocol a run was measured under.

/** One CounterFact task over the cases, × 100: score = mean over cases of the per-case share of prompts where the desired answer wins (P(new) > P(old); neighbourhood P(old) > P(new)); magnitude = mean over cases of the per-case mean of P(desired) − P(other); top1 = every token of the desired answer top-1 (extra column). */
export interface CounterFactTask {
  cases: number;
  score: number;
  magnitude: number;
  top1?: number;
}

/** CounterFact's ES / PS / NS with magnitudes (ROME / MEMIT experiments/summarize.py), × 100. */
export interface CounterFactSummary {
  version: string;
  efficacy: CounterFactTask;
  paraphrase: CounterFactTask;
  neighbourhood: CounterFactTask;
  /** Harmonic mean of the three scores (summarize.py's "Score"); absent when one is missing or 0. */
  score?: number;
  /** Generation entropy (n-gram entropy of sampled texts), mean over the cases sampled, × 100; absent when not sampled. */
  generationEntropy?: { cases: number; value: number };
}

/** zsRE token-level accuracy (MEMIT / EasyEdit), × 100 over cases. */
export interface ZsreSummary {
  version: string;
  cases: number;
  /** Mean share of the new answer's tokens that are the argmax, teacher-forced, on the edit question. */
  efficacy: number;
  /** The same on the rephrased question. */
  generalisation: number;
  /** Share of the loc answer's teacher-forced argmax tokens equal to the unedited model's (EasyEdit). */
  locality: number;
  /** Share of the loc answer's tokens that are the argmax (MEMIT's neighbourhood accuracy). */
  locAnswer: number;
}

/** A case's greedy answer to its multi-hop question (core/diagnostics/mquake.ts): contains* = 1 when the continuation contains that answer. */
export interface MultiHopGenerated {
  text: string;
  containsNew: number;
  containsOld: number;
}

/** How a run measured: teacher-forced or generated answers, when, which templates, which metric versions. */
export interface RunProtocol {
  scoring: ('teacher-forced' | 'generated')[];
  /** "model as it is" (the edit stack), "after each edit" (each case's own edit, reverted after), "after all edits" (a sequence so far). */
  measured: 'model as it is' | 'after each edit' | 'after all edits';
  /** The prompt fields / templates the metrics read, e.g. "requested_rewrite.prompt", "paraphrase_prompts". */
  templates: string[];
  /** Metric versions, e.g. "counterfact-v1", "evoke-v1". */
  metrics: string[];
}
