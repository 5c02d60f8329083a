// EVOKE and ORT results as they travel from the engine to the Diagnostics panel.

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

/** EVOKE without the edits ('before') and with them or with each case's own edit ('after'). */
export interface EvokeDiagnostics {
  method: string;
  /** The per-case edits' settings as run (recorded in the run folders' config too). */
  settings?: { layer?: number; layers?: number[]; lambda?: number };
  data: string[];
  before: Record<string, TaskSummary>;
  after: Record<string, TaskSummary>;
  beforeCases: CaseRow[];
  afterCases: CaseRow[];
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
  edit: { id: string; label: string; method: string; file?: string };
  /** One entry per fact request of the edit (ROME one, MEMIT one per fact). */
  facts: EditFactDiagnosis[];
  concept?: EditConceptDiagnosis;
  seconds: number;
}

export interface DiagnosticsParams {
  kind: 'evoke' | 'ort';
  /** EVOKE: evoke_main.json-format file (default: eval/evoke.json beside the model). */
  data?: string;
  subjSpec?: string;
  /** ORT: a target folder or a Target/ folder of them (default: eval/ort beside the model). */
  target?: string;
  /** EVOKE: 'none' measures the stack; 'rome' / 'memit' compute each case's own edit. */
  method?: 'none' | 'rome' | 'memit';
  lti?: boolean;
  /** Per-case ROME's layer (the one picked with "Use layer N for edits"); absent: the model's default. */
  layer?: number;
  /** Per-case MEMIT's layers; absent: the model's default. */
  layers?: number[];
  /** Per-case MEMIT's λ (mechedit.memit.lambda); absent: the papers' value scaled by d_mlp. */
  lambda?: number;
  limit?: number;
  /** Where the EVOKE run folders go. */
  outDir: string;
  progressToken?: string;
}
