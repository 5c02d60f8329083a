// The typed contract between the extension host and the engine process (JSON-RPC 2.0 over the
// Node IPC channel, vscode-jsonrpc on both ends). One entry per request: its params and result.
// Errors come back as JSON-RPC errors whose `data` is an ErrorData (./errors.ts).
// Long requests take a `progressToken` and report through the 'engine/progress' notification;
// cancellation is JSON-RPC's own $/cancelRequest.

import type { DiagnosticsParams, EditDiagnostics, EvokeDiagnostics, FineKedDiagnostics, OrtDiagnostics, ProbesDiagnostics } from './diagnostics';
import type { CausalTraceWire, ConceptWire } from './wire';
import type { AttentionParams, AttentionWire, PatchingWire, PatchParams } from './patching';
import type { WireTensor } from './tensor';
import type { CausalTraceRun, GenerateResult, ModelInfo, PredictResult, ScoreResult, TraceResult } from './model';
import type { StackState } from './edits';
import type { LifelongPoint, LifelongRunParams, LifelongRunResult } from './lifelong';
import type { RegistryDescription } from './registry';
import type { ConceptPrompts, FeaturePage, FeatureTokensResult } from './features';
import type { SweepView } from './sweep';
import type { EditCompareParams, EditCompareResult } from './editResult';
import type { EngineConfig, EngineInfo, FactMethod, SelfTestParams, SelfTestResult } from './common';

export type { EngineConfig, EngineInfo, ExecutionProvider, ExecutionProviderSetting, FactMethod, ProviderProbe, SelfTestParams, SelfTestResult } from './common';

export interface ProgressParams {
  token: string;
  /** Units done so far, and the total when known. */
  done: number;
  total?: number;
  message?: string;
  /** A training step (unlearn/run; step from 0, done = step + 1): its loss and metrics, for live charts. */
  point?: { step: number; loss: number; metrics: Record<string, number> };
  /** A measured point of a lifelong-editing run (lifelong/run), for live curves. */
  curve?: LifelongPoint;
}

export interface LogParams {
  level: 'info' | 'warn' | 'error';
  message: string;
}

/** Requests the extension sends to the engine. */
export interface EngineRequests {
  'engine/info': { params: Record<string, never>; result: EngineInfo };
  'engine/configure': { params: EngineConfig; result: EngineInfo };
  'engine/selfTest': { params: SelfTestParams; result: SelfTestResult };
  /** Opens a checkpoint folder (replacing the open model); errors name the file and field. */
  'model/open': { params: { path: string }; result: ModelInfo };
  /** The open model, or null. */
  'model/info': { params: Record<string, never>; result: ModelInfo | null };
  'model/close': { params: Record<string, never>; result: null };
  'model/predict': { params: { prompt: string; top?: number }; result: PredictResult };
  'model/score': { params: { prompt: string; answers: string[] }; result: ScoreResult };
  /** targetId: also P(that token) per layer and position; edits 'off': run without the edit stack. */
  'model/trace': { params: { prompt: string; top?: number; targetId?: number; edits?: 'on' | 'off' }; result: TraceResult };
  /** Streams each new token as an 'engine/progress' message (done = tokens so far, message = its text). */
  /** steer: adds vector (float32 [d_model]) to resid_post of layer at every position (steering along a direction). */
  'model/generate': { params: { prompt: string; maxTokens: number; temperature?: number; topK?: number; seed?: number; steer?: { layer: number; vector: WireTensor }; progressToken?: string }; result: GenerateResult };
  /**
   * ROME's causal tracing of a fact (progress in restorations, cancellable). edits: the ids of the
   * user's stack's edits to trace with (each as it is in the stack; [] = the model without edits;
   * absent = the stack as it is); the stack itself is not changed. The result says which edits were on.
   */
  'model/causalTrace': { params: { prompt: string; subject: string; answer?: string; samples?: number; window?: number; edits?: string[]; progressToken?: string }; result: CausalTraceWire & CausalTraceRun };
  /** Grids and patterns cross as tensors (decodePatching, decodeAttention in ./patching.ts). Activation patching ('exact') or attribution patching ('atp', 'atp-ig' with igSteps) on a prompt pair of equal token length (src/core/analysis/patching.ts). */
  'model/patch': { params: PatchParams & { progressToken?: string }; result: PatchingWire };
  /** Attention patterns (query × key) of a layer's heads for a prompt, one head or all. */
  'model/attention': { params: AttentionParams; result: AttentionWire };
  /** The edit stack of the open model. Changes only swap edit inputs: no session is rebuilt. */
  'edits/list': { params: Record<string, never>; result: StackState };
  /** Reads an edit file (and its sidecar) and puts it on top of the stack (or replaces the same id). */
  'edits/apply': { params: { file: string; strength?: number }; result: StackState };
  'edits/revert': { params: { id: string }; result: StackState };
  'edits/revertAll': { params: Record<string, never>; result: StackState };
  'edits/setEnabled': { params: { id: string; enabled: boolean }; result: StackState };
  'edits/scale': { params: { id: string; strength: number }; result: StackState };
  'edits/reorder': { params: { ids: string[] }; result: StackState };
  /** Key statistics C = E[kkᵀ] at a layer (cached on disk); progress in key vectors, cancellable. */
  'edits/stats': { params: { layer: number; corpus?: string[]; samples?: number; progressToken?: string }; result: KeyStatsInfo };
  /** The method registry: every edit method, training objective and diagnostic with its settings and presets. */
  /** The top features of an SAE (SAELens folder) at each token of a prompt, on the model as the stack leaves it. */
  'sae/tokens': { params: { sae: string; prompt: string; top?: number }; result: FeatureTokensResult };
  /** A feature's page: top contexts in the corpus (held-out documents), logit read, histogram, cosine with the stack's edits. */
  'sae/feature': { params: { sae: string; feature: number; corpus?: string[]; tokens?: number; concepts?: ConceptPrompts[] }; result: FeaturePage };
  'registry/describe': { params: Record<string, never>; result: RegistryDescription };
  /**
   * Any edit method of the registry by id, with its settings by name (checked against its
   * descriptor, as the CLI's flags are), optionally a preset; fact requests as data. Writes the edit
   * to outDir and applies it to the stack as it was when the request started ('if-succeeded': only
   * a fact edit that took; 'never': write only).
   */
  'edits/run': { params: EditRunParams; result: ComputedEdit & Partial<FactEditOutcome> & { vstar?: ComputedFactEditInfo[] } };
  /** Computes a ROCR edit, writes it to outDir (<id>.json + .safetensors) and applies it. */
  'edits/rocr': { params: { concept: string; harmless: string; layers?: number[]; lambda?: number; positions?: 'last' | 'all'; regularizer?: 'identity' | 'covariance'; preset?: string; outDir: string; progressToken?: string }; result: ComputedEdit };
  /**
   * Computes a ROME (one request) or MEMIT (any number) fact edit, optionally with LTI, writes it
   * to outDir and applies it. Progress: one notification per v* step; cancellable between steps.
   */
  /** EVOKE (before / after) or ORT (without / with the edits) on data files or the model's own eval/ suites. */
  'diagnostics/run': { params: DiagnosticsParams; result: EvokeDiagnostics | OrtDiagnostics | FineKedDiagnostics | ProbesDiagnostics };
  /** Concept directions per layer from two prompt sets (difference of means), with AUC, lens read, edit cosines and a probe's projections. */
  'concepts/direction': { params: { positive: string[]; negative: string[]; probe?: string; top?: number }; result: ConceptWire };
  /** Directional ablation W ← (I − d dᵀ) W at the layers (rank-one edits; direction: float32 [d_model]), written to outDir and applied. */
  'edits/ablate': { params: { direction: WireTensor; layers: number[]; modules?: ('mlp.out' | 'attn.out')[]; label?: string; request?: Record<string, unknown>; outDir: string; progressToken?: string }; result: ComputedEdit };
  /**
   * lambda: MEMIT's λ (mom2_update_weight); absent = the papers' value, on other models the batch's median kᵀC⁻¹k / 19 per layer (core memit.ts keyEnergyLambda).
   * force: compute even when a target splits into byte pieces or too many tokens (else refused,
   * field 'target'; edits/checkFact says so beforehand).
   * steps: the v* step budget (absent = the method's).
   * apply: 'if-succeeded' (default) puts the edit on the stack only when it took (src/core/edits/outcome.ts:
   * the target top-1 on its own prompt with P ≥ 25 %); 'if-healthy' also not when its health has a
   * warning (src/protocol/applyPolicy.ts); 'always' applies it regardless. The file is written
   * either way; `notApplied` in the answer says why it was not applied.
   */
  'edits/fact': { params: { method: FactMethod; requests: FactRequest[]; layer?: number; layers?: number[]; lti?: boolean; lambda?: number; threshold?: number; steps?: number; graph?: string; subgraphSize?: number; preset?: string; force?: boolean; apply?: 'if-succeeded' | 'if-healthy' | 'always'; outDir: string; progressToken?: string }; result: ComputedEdit & FactEditOutcome & { vstar: ComputedFactEditInfo[] } };
  /** The Edit Result view: the edit file alone on the unedited model, before and after, on its prompt, a paraphrase and a neighbour (src/protocol/editResult.ts); the user's stack is not used. */
  'edits/compare': { params: EditCompareParams; result: EditCompareResult };
  /** How the tokenizer splits each request's target, with a warning when an edit toward it is unlikely to take. */
  'edits/checkFact': { params: { requests: FactRequest[]; subjects?: boolean }; result: { targets: TargetCheck[]; subjects?: SubjectCheck[] } };
  /** "Diagnose This Edit": the edit file alone on the unedited model, on its own request (the user's stack is not used). */
  'diagnostics/edit': { params: { file: string; progressToken?: string }; result: EditDiagnostics };
  /**
   * Gradient unlearning (GA, GradDiff, NPO, RT, DPO, RMU; METHODS.md, "Training edits"): trains
   * LoRA factors on the request's own copy of the stack (the user's stack and other requests keep
   * working meanwhile), writes the edit (method "unlearn") to outDir and applies it on the user's
   * stack. Progress: one notification per training step, with its `point`; cancel stops between
   * steps, and nothing is written or applied then.
   */
  'unlearn/run': { params: UnlearnParams; result: UnlearnOutcome };
  /** What a forget source holds, per form (the forms to choose from before a run), and its retain material. */
  'unlearn/material': { params: { forget: string; retain?: string }; result: UnlearnMaterialInfo };
  /** Sequential editing on its own stack over the unedited model (./lifelong.ts); a 'curve' progress per measured point; cancel stops between edits. */
  'lifelong/run': { params: LifelongRunParams; result: LifelongRunResult };
  /** A sweep root (`mechedit sweep`) as the panels show it: each task's state, the comparison once merged, sequential cells' curves. Needs no model. */
  'sweep/view': { params: { root: string }; result: SweepView };
  /** `mechedit sweep merge ROOT` (every task must have finished), then the view. */
  'sweep/merge': { params: { root: string }; result: SweepView };
}

/**
 * The fields are the objectives' settings by name (registry: objectives' `settings`, checked by
 * core's runUnlearnJob as for `mechedit unlearn`); settings left out take the preset's values
 * (`tuned`: per-objective lr and retainWeight) or their defaults.
 */
export interface UnlearnParams {
  /** A training objective of the registry ('registry/describe''s objectives, by id). */
  method: string;
  /** The objective's preset, `tuned` or `paper` (default: its default preset, `tuned`). */
  preset?: string;
  /** Absolute path: a JSONL file of {prompt, answer} records, or an ORT target folder (Target/<n>_<Name>/). */
  forget: string;
  /**
   * Absolute path of retain material (JSONL); absent: the model's own eval/unlearn/retain.jsonl
   * when it has one (then also measured for objectives without a retain term), else an objective
   * with a retain weight above 0 is refused (field 'retain').
   */
  retain?: string;
  /** Absolute path of unrelated facts (JSONL) whose top-1 is measured before and after; absent: the model's eval/unlearn/unrelated.jsonl when it has one. */
  unrelated?: string;
  /** The forms of the forget material trained on (e.g. ["qa"]); absent: every form. */
  forms?: string[];
  layers?: number[];
  rank?: number;
  steps?: number;
  lr?: number;
  /** Weight of the retain term; 0 = none. */
  retainWeight?: number;
  /** NPO / DPO temperature β. */
  beta?: number;
  /** UIPE's α: the edit written is the trained one at strength 1 + α. */
  uipe?: number;
  /** Stop once the forget items' top-1 accuracy is below this (0…1); 0 = run every step. */
  stopBelow?: number;
  /** Whether the trained edit goes on the stack (applyPolicy.ts): 'always' (default), 'if-healthy' (not when its health warns), 'never'. */
  apply?: 'if-healthy' | 'always' | 'never';
  /** The loss variants and trainer settings of the `paper` preset (docs/methods/unlearn.md "Presets"). */
  epochs?: number;
  batchSize?: number;
  warmupEpochs?: number;
  schedule?: 'constant' | 'linear' | 'cosine';
  weightDecay?: number;
  lossMean?: 'item' | 'token';
  dpoScale?: 'unit' | 'twoOverBeta';
  idkAnswers?: boolean;
  rmuLayer?: number;
  rmuCoef?: number;
  rmuTokens?: 'all' | 'answer';
  /** Seed of the initialisation and batching. */
  seed?: number;
  label?: string;
  /** The concept unlearned, recorded as the edit's request.concept (Diagnose This Edit then runs ORT's forms on it). */
  concept?: string;
  outDir: string;
  progressToken?: string;
}

/**
 * One training step (from 0): the loss, and metrics measured after its update, such as forgetTop1
 * (the forget items' teacher-forced top-1 answer accuracy) and forgetProb (their mean answer
 * probability), both 0…1.
 */
export interface UnlearnCurvePoint {
  step: number;
  loss: number;
  metrics: Record<string, number>;
  lr?: number;
  gradNorm?: number;
  /** ms since the start of training. */
  ms?: number;
}

export interface UnlearnOutcome extends ComputedEdit {
  curve: UnlearnCurvePoint[];
  stoppedBy: 'steps' | 'early-stop' | 'budget';
  /** Teacher-forced top-1 answer accuracy of the forget and retain items (and unrelated facts, when there are some), [before, after] (0…1). */
  figures: { forgetTop1: [number, number]; retainTop1: [number, number]; unrelatedTop1?: [number, number] };
  method: string;
  /** The preset whose values filled the settings left out. */
  preset: string;
  /** What was trained on. */
  material: { name: string; forget: number; retain: number; forms: string[]; retainSource?: string };
  /**
   * The forget target's ORT neighbour sets (neighbor_*.json of an ORT target folder), per form,
   * measured in the same run before and after with ORT's formulas (0…1): not trained on, unlike the
   * retain set. Absent when the forget material is not an ORT folder with neighbours.
   */
  neighbours?: { target: string; rows: { form: string; items: number; before: { lossProb: number; tokenAccuracy: number }; after: { lossProb: number; tokenAccuracy: number } }[] };
}

export interface UnlearnMaterialInfo {
  /** The concept / target name (the ORT folder's name, or the file's base name). */
  name: string;
  /** Forget items per form, in the order met. */
  forms: { form: string; items: number }[];
  /** Retain items (the given file, else the model's default retain material; 0 when there is none). */
  retain: number;
  retainSource?: string;
  /** Refusals the source ships (reject.json), for RT and DPO. */
  refusals: number;
}

/** How the tokenizer splits a fact edit's target (src/core/edits/outcome.ts targetCheck). */
/** Does the model know a fact edit's subject? (src/core/edits/subjectCheck.ts) */
export interface SubjectCheck {
  subject: string;
  /** The prompt with the subject filled in. */
  prompt: string;
  /** The model's greedy continuation of it (a few tokens). */
  continuation: string;
  /** The answer read from the continuation (up to the first sentence mark). */
  answer: string;
  /** Its length-normalised probability, exp(mean log P). */
  prob: number;
  /** The probability of its first token. */
  firstProb: number;
  /** Why the edit may go wrong (the subject looks unknown to the model), when it may. */
  warning?: string;
}

export interface TargetCheck {
  target: string;
  /** The target's tokens (" " + target, the scoring convention), as text. */
  tokens: string[];
  /** How many of them are byte pieces rather than text. */
  bytePieces: number;
  /** Why the edit is unlikely to work, when it is. */
  warning?: string;
}

/** One fact request's efficacy with the edit applied. */
export interface RequestEfficacy {
  /** The edit's own prompt with the subject in it. */
  prompt: string;
  target: string;
  /** exp(mean log P) of the target's tokens after the prompt, with the edit applied. */
  targetProb: number;
  /** Every target token is the most likely one (teacher-forced). */
  top1: boolean;
}

/** Whether a fact edit took (src/core/edits/outcome.ts factOutcome), and whether it was put on the stack. */
export interface FactEditOutcome {
  succeeded: boolean;
  /** Why it did not succeed. */
  reason?: string;
  applied: boolean;
  efficacy: RequestEfficacy[];
}

/** A fact to edit: the prompt has "{}" where the subject goes. */
export interface FactRequest {
  subject: string;
  prompt: string;
  target: string;
}

/** How the v* optimisation of one request ended. */
export interface ComputedFactEditInfo {
  steps: number;
  loss: number;
  targetProb: number;
  /** Every v* step: the loss (NLL + KL + decay), its NLL part and the mean P(target token). */
  curve: { loss: number; nll: number; targetProb: number }[];
}

export interface KeyStatsInfo {
  layer: number;
  dMlp: number;
  count: number;
  file: string;
  cached: boolean;
  seconds: number;
}

export interface EditRunParams {
  method: string;
  settings?: Record<string, unknown>;
  requests?: FactRequest[];
  preset?: string;
  /** As edits/fact's apply, plus 'never' (only write the file). */
  apply?: 'if-succeeded' | 'if-healthy' | 'always' | 'never';
  force?: boolean;
  outDir: string;
  progressToken?: string;
}

export interface ComputedEdit {
  /** Whether the edit is on the stack now (a failed fact edit, or one computed while the model was reopened, is only written). */
  applied?: boolean;
  /** Why it is not applied, when the apply mode held it back (absent when applied or from older engines). */
  notApplied?: string;
  file: string;
  id: string;
  label: string;
  /** The preset the edit's settings were resolved with (its file's hparams.preset); absent from older engines. */
  preset?: string;
  /** Health numbers and warnings (src/core/edits/health.ts). */
  health: { targets: { layer: number; module: string; relNorm: number; keyScore?: number }[]; klNeutral: number; warnings: string[] };
  state: StackState;
  computeMs: number;
}

/** Notifications the engine sends to the extension. */
export interface EngineNotifications {
  'engine/progress': ProgressParams;
  'engine/log': LogParams;
}

export type EngineMethod = keyof EngineRequests;

/**
 * Every request the engine answers, at run time (the fuzz test sends each of them). A Record over
 * EngineMethod, so a method added to EngineRequests without an entry here does not compile.
 */
const ENGINE_METHOD_SET: Record<EngineMethod, true> = {
  'engine/info': true, 'engine/configure': true, 'engine/selfTest': true,
  'model/open': true, 'model/info': true, 'model/close': true, 'model/predict': true, 'model/score': true, 'model/trace': true, 'model/generate': true, 'model/causalTrace': true,
  'edits/list': true, 'edits/apply': true, 'edits/revert': true, 'edits/revertAll': true, 'edits/setEnabled': true, 'edits/scale': true, 'edits/reorder': true, 'edits/stats': true,
  'registry/describe': true, 'edits/run': true, 'edits/rocr': true, 'edits/fact': true, 'edits/checkFact': true, 'edits/ablate': true,
  'diagnostics/run': true, 'diagnostics/edit': true, 'edits/compare': true, 'concepts/direction': true,
  'unlearn/run': true, 'unlearn/material': true, 'lifelong/run': true,
  'model/patch': true, 'model/attention': true, 'sae/tokens': true, 'sae/feature': true, 'sweep/view': true, 'sweep/merge': true,
};
export const ENGINE_METHODS = Object.keys(ENGINE_METHOD_SET) as EngineMethod[];
export type ParamsOf<M extends EngineMethod> = EngineRequests[M]['params'];
export type ResultOf<M extends EngineMethod> = EngineRequests[M]['result'];

export const ENGINE_PROTOCOL_VERSION = 1;
