// Per-panel protocols. Each panel's webview bundle (webview/<panel>/) and host provider
// (src/extension/panels/) share one of these.

import type { EngineInfo, SelfTestResult } from './common';
import type { CausalTraceResult, CausalTraceRun, ModelInfo, TraceResult } from './model';
import type { PanelProtocol, SaveRequest } from './webview';
import type { CausalTraceWire, ConceptWire } from './wire';
import type { WireTensor } from './tensor';
import type { AttentionParams, AttentionWire, PatchingWire, PatchMethod, PatchMetric, PatchParams } from './patching';
import type { ConceptsContext } from './diagnosticsPanel';
import type { UnlearnContext, UnlearnFormRow, UnlearnStart } from './unlearnForm';
export * from './diagnosticsPanel';
export type { SaveParams, SaveRequest } from './webview';
export type { UnlearnContext, UnlearnFormRow, UnlearnStart } from './unlearnForm';

/** The Engine panel: engine state, execution providers, and an on-demand self-test. */
export interface EnginePanel extends PanelProtocol {
  requests: {
    /** Runs the engine self-test (with a progress notification in the window). */
    runSelfTest: { params: { size: number; iterations: number }; result: SelfTestResult };
    /** Restarts the engine process. */
    restartEngine: { params: Record<string, never>; result: EngineInfo };
  };
  notifications: {
    /** Complete snapshot of the engine state; sent after 'ready' and on every change. */
    state: EngineStateSnapshot;
  };
}

export type EngineStatus = 'stopped' | 'starting' | 'running' | 'crashed';

export interface EngineStateSnapshot {
  status: EngineStatus;
  info?: EngineInfo;
  /** Why the engine last stopped unexpectedly, when it did. */
  lastCrash?: string;
  restarts: number;
  lastSelfTest?: SelfTestResult;
  /**
   * The model open in the engine, if any; modelError when opening the configured one failed
   * (modelErrorPath: the folder that failed). After a failed open the engine keeps the model it
   * had, with its edits, so `model` may be another folder than the configured one.
   */
  model?: ModelInfo;
  modelError?: string;
  modelErrorPath?: string;
}

/** Webview state persisted with setState and restored by the panel serializer. */
export interface EnginePanelState {
  size: number;
  iterations: number;
}

/** The Activations panel: a token × layer heatmap of one prompt, before and after the edit stack. */
export interface ActivationsPanel extends PanelProtocol {
  requests: {
    /**
     * Traces the prompt with the edit stack on and off. target: the first token of " " + target
     * (the answer-scoring convention), whose lens probability is then given per layer.
     */
    trace: { params: { prompt: string; target?: string; top?: number }; result: ActivationsTrace };
    /** Opens a save dialog and writes the chart (PNG as base64, SVG) or the data (CSV, JSON). */
    save: SaveRequest;
  };
  notifications: {
    /** Complete snapshot: the open model and the number of enabled edits. */
    context: ActivationsContext;
    /** Sets the form (any of its fields) and traces (commands and tests use it). */
    run: Partial<ActivationsPanelState> & { prompt: string };
  };
}

export interface ActivationsContext {
  model?: { path: string; layers: number; architecture: string };
  enabledEdits: number;
}

export interface ActivationsTrace {
  /** With the edit stack as it is ('after') and with every edit disabled ('before'). */
  after: TraceResult;
  before: TraceResult;
  enabledEdits: number;
  ms: number;
  /** The target as typed, when it is several tokens: P(target) is its first token's (after.target). */
  targetGiven?: { text: string; tokens: number };
}

export type ActivationsMetric = 'lensProb' | 'residNorm' | 'mlpNorm' | 'attnNorm' | 'targetProb';
export type ActivationsView = 'after' | 'before' | 'side' | 'diff';

/** Webview state persisted with setState and restored by the panel serializer. */
export interface ActivationsPanelState {
  prompt: string;
  target: string;
  metric: ActivationsMetric;
  view: ActivationsView;
  /** The selected token (column), if any. */
  token?: number;
}

/** The Causal Tracing panel: ROME's indirect effects of one fact, and the edit layer they recommend. */
export interface TracingPanel extends PanelProtocol {
  requests: {
    /** Runs causal tracing in the engine (progress and cancel in a notification). */
    /** bare: trace the model without edits (the engine gets an empty edit list); else with the stack's edits as they are now. */
    trace: { params: { prompt: string; subject: string; answer?: string; samples?: number; window?: number; bare?: boolean }; result: TracingWire };
    /** Makes `layer` the default layer of the edit commands (ROME) for the open model. */
    useLayer: { params: { layer: number }; result: { layer: number } };
    /** The Patching tab: exact or attribution patching of a prompt pair (the engine's model/patch). */
    patch: { params: PatchParams; result: PatchingWire };
    /** The Attention view: one layer's attention patterns (the engine's model/attention). */
    attention: { params: AttentionParams; result: AttentionWire };
    /** Opens "Edit a Fact" for this subject and prompt at `layer` (unset: the edit commands' default; asks for the new target). */
    editFact: { params: { subject: string; prompt: string; layer?: number }; result: { applied: boolean; label?: string } };
    save: SaveRequest;
  };
  notifications: {
    context: TracingContext;
    /** Sets the form and traces (commands and tests use it). */
    run: Partial<TracingPanelState> & { prompt: string; subject: string };
    /** Opens the Patching tab, sets its form and runs (commands and tests use it). */
    runPatch: Partial<PatchingTabState> & { clean: string; corrupt: string; answer: string };
    /** Opens the Attention view on a layer and head of a prompt and draws it. */
    runAttention: { prompt: string; layer: number; head: number };
  };
}

/** A causal trace as the panel draws it (scores as [layer][token] numbers), with the time it took. */
export interface TracingResult extends CausalTraceResult, CausalTraceRun {
  ms: number;
  /** Whether the trace was asked for the model without edits ("Trace the bare model"). */
  bare: boolean;
}

/** TracingResult as it crosses extension → webview (scores as tensors; decodeCausalTrace in ./wire.ts). */
export type TracingWire = CausalTraceWire & CausalTraceRun & { ms: number; bare: boolean };

export interface TracingContext {
  model?: { path: string; layers: number; architecture: string };
  /** The layer the edit commands use by default, when the user picked one here. */
  editLayer?: number;
  /** The edits applied now (enabled, strength ≠ 0): what a trace runs with unless "Trace the bare model" is on. */
  edits?: { id: string; label: string }[];
}

export interface TracingPanelState {
  /** The tab shown: causal tracing (default), patching, or the attention view. */
  tab?: 'trace' | 'patching' | 'attention';
  patching?: PatchingTabState;
  attention?: { prompt: string; layer: number; head: number };
  prompt: string;
  subject: string;
  answer: string;
  samples: number;
  /** Unset: the engine's default by depth (10 layers of 48). */
  window?: number;
  /** "Trace the bare model": trace without the edits applied. */
  bare?: boolean;
  /** The last trace drawn (as it came, tensors base64) and the form it came from: kept so a tab switch or a reload draws it again. */
  last?: { result: TracingWire; from: unknown };
}

/** The Patching tab's form. */
export interface PatchingTabState {
  clean: string;
  corrupt: string;
  answer: string;
  wrong: string;
  metric: PatchMetric;
  /** Exact activation patching, or attribution patching (AtP, AtP-IG). */
  method: PatchMethod;
  igSteps: number;
}

/** The Concepts panel: concept directions per layer from two prompt sets, and actions on them. */
export interface ConceptsPanel extends PanelProtocol {
  requests: {
    /** Directions and probe projections as tensors (decodeConcepts in ./wire.ts). */
    analyse: { params: { positive: string[]; negative: string[]; probe?: string }; result: ConceptWire };
    /** Ablates the direction of `layer` at `layers` (rank-one edits), saved and applied. */
    ablate: { params: { direction: WireTensor; layer: number; layers: number[] }; result: { applied: boolean; label?: string; file?: string } };
    /** Generates from `prompt` greedily, plain and with α · ‖d‖ · d̂ of `layer` added to its residual. */
    steer: { params: { prompt: string; layer: number; vector: WireTensor; maxTokens: number }; result: { plain: string; steered: string } };
    /** Redirects a concept with ROCR (asks for the harmless concept). */
    redirect: { params: { concept: string }; result: { applied: boolean; label?: string } };
    /** Opens *MechEdit: Unlearn…* for the concept (asks for the method, material and forms). */
    unlearn: { params: { concept: string }; result: { applied: boolean; label?: string } };
    save: SaveRequest;
  };
  notifications: {
    context: ConceptsContext;
    run: Partial<ConceptsPanelState> & { positive: string; negative: string };
  };
}

export interface ConceptsPanelState {
  /** One prompt per line. */
  positive: string;
  negative: string;
  probe: string;
  /** The concept's name (for ROCR). */
  concept: string;
  /** The selected layer. */
  layer?: number;
}

/** The Edit Strengths view (side bar): a slider per applied edit for its strength α. */
export interface StrengthsView extends PanelProtocol {
  requests: {
    scale: { params: { id: string; strength: number }; result: { ok: boolean } };
    setEnabled: { params: { id: string; enabled: boolean }; result: { ok: boolean } };
  };
  notifications: {
    /** The stack: complete snapshot on every change. */
    stack: { items: { id: string; label: string; method: string; enabled: boolean; strength: number }[] };
  };
}

/** The Unlearning panel: the live loss chart of a *MechEdit: Unlearn…* run, its Cancel, and its outcome. */
export interface UnlearnPanel extends PanelProtocol {
  requests: {
    /** Cancels the run in progress (nothing is written or applied). */
    cancel: { params: Record<string, never>; result: { cancelled: boolean } };
    /** Opens the finished run's edit file. */
    openEdit: { params: { file: string }; result: { opened: boolean } };
    /** "Diagnose This Edit" on the finished run's edit: the ORT forms of its concept, linked into the outcome (and shown in the Diagnostics panel). */
    diagnose: { params: { file: string }; result: { started: boolean } };
    /** Starts a run from the panel's form: the same pipeline as *MechEdit: Unlearn…* (returns once it started; the 'run' snapshot follows). */
    start: { params: UnlearnStart; result: { started: boolean } };
    save: SaveRequest;
  };
  notifications: {
    /** The run: complete snapshot, sent at the start, after every step and at the end. */
    run: UnlearnRunSnapshot;
    /** What the form offers: the open model's forget sets and the registry's objectives. */
    context: UnlearnContext;
  };
}

/** One training step as the chart draws it. */
export interface UnlearnChartPoint {
  step: number;
  loss: number;
  /** forgetTop1, retainTop1, … (0…1 for accuracies). */
  metrics: Record<string, number>;
}

export interface UnlearnRunSnapshot {
  status: 'running' | 'done' | 'cancelled' | 'error';
  /** The objective's id (graddiff, …) and name (GradDiff, …). */
  method: string;
  methodLabel: string;
  /** The objective's preset the run asked for (absent in runs saved before presets: nothing is shown). */
  preset?: string;
  concept?: string;
  /** The forget material's name (ORT target folder or file) and the forms trained on (empty: all). */
  material: string;
  forms: string[];
  /** The steps planned, once the first step says. */
  steps?: number;
  points: UnlearnChartPoint[];
  /** What the engine is doing now (e.g. the edit's health after training). */
  message?: string;
  /** Steps done / planned, rate and time left (protocol/progress.ts), while it trains. */
  progress?: string;
  error?: string;
  /** ISO 8601. */
  startedAt: string;
  result?: {
    id: string;
    label: string;
    file: string;
    stoppedBy: string;
    /** [before, after], 0…1. */
    figures: { forgetTop1: [number, number]; retainTop1: [number, number] };
    computeMs: number;
    klNeutral: number;
    warnings: string[];
    forgetItems: number;
    retainItems: number;
    /** Whether the edit was applied (mechedit.applyPolicy may hold an unhealthy one back: `notApplied` says why). */
    applied?: boolean;
    notApplied?: string;
    /** The retain set trained on / measured (its file), when there is one. */
    retainSource?: string;
    /** The forget set's ORT neighbour sets, measured in the same run before and after (ORT's formulas), when the forget set is an ORT target folder. */
    neighbours?: { target: string; rows: UnlearnFormRow[] };
    /** ORT's forms of the edit alone, from Diagnose (the diagnosis 'diagnostics/edit'), once it ran. */
    ort?: { target?: string; rows: UnlearnFormRow[]; seconds: number };
  };
}

/** Webview state persisted with setState and restored by the panel serializer: the last run drawn. */
export interface UnlearnPanelState {
  run?: UnlearnRunSnapshot;
}
