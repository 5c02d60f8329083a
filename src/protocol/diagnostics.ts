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
  limit?: number;
  /** Where the EVOKE run folders go. */
  outDir: string;
  progressToken?: string;
}
