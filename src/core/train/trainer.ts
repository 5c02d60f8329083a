// The core trainer (CONTRACT; being implemented): AdamW over Float32Array parameters, linear
// warm-up then cosine / linear / constant decay, global-norm gradient clipping, seeded batching
// over item pools, early stop, a step and time budget, progress, cancel, and the loss curve.
// It knows nothing of models: `compute` runs the forward + backward for a batch.

export type StopReason = 'steps' | 'early-stop' | 'budget';

export interface TrainerHparams {
  steps: number;
  lr: number;
  weightDecay: number;
  betas: [number, number];
  eps: number;
  /** Warm-up steps (lr rises linearly from 0). */
  warmup: number;
  schedule: 'cosine' | 'linear' | 'constant';
  /** Max global gradient norm; 0 = no clipping. */
  clip: number;
  /** Items per batch, one number per pool (e.g. [forget, retain]). */
  batchSizes: number[];
  seed: number;
  /** Wall-clock budget in ms; undefined = none. */
  budgetMs?: number;
}

export interface Param {
  name: string;
  /** Updated in place. */
  value: Float32Array;
  /** AdamW's decoupled weight decay applies. */
  decay: boolean;
}

export interface StepOutcome {
  loss: number;
  /** One per param, same length as its value. */
  grads: Float32Array[];
  metrics?: Record<string, number>;
}

export interface CurvePoint {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  /** ms since the start. */
  ms: number;
  metrics: Record<string, number>;
}

export interface TrainResult {
  curve: CurvePoint[];
  stoppedBy: StopReason;
  steps: number;
  ms: number;
}

export interface TrainOptions {
  /** Pool sizes (items), matching hp.batchSizes. */
  pools: number[];
  /** batches[k] = item indices drawn from pool k for this step. */
  compute: (batches: number[][], step: number) => Promise<StepOutcome>;
  onStep?: (p: CurvePoint) => void;
  /** Checked after each step; true stops with 'early-stop'. */
  earlyStop?: (p: CurvePoint) => boolean | Promise<boolean>;
  isCancelled?: () => boolean;
}

export async function train(params: Param[], hp: TrainerHparams, o: TrainOptions): Promise<TrainResult> {
  void params;
  void hp;
  void o;
  throw new Error('train: being written');
}
