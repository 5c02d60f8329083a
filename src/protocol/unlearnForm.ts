// The Unlearning panel's form and outcome rows (protocol/panels.ts UnlearnPanel): what the form
// offers and starts, and ORT's per-form figures as the outcome shows them.

/** The panel form's choice: a forget set (absent: the command asks, with "Choose a file or folder…"), an objective, the forms. */
export interface UnlearnStart {
  forget?: string;
  method: string;
  /** The forms to train on: ['qa'] (question–answer), or [] for every form. */
  forms: string[];
}

export interface UnlearnContext {
  /** The open model's ORT target folders (absolute), by name; empty without a model. */
  forgets: { label: string; path: string }[];
  /** The registry's training objectives, the recommended one first. */
  objectives: { id: string; label: string; description: string }[];
  /** Whether a model is open. */
  model: boolean;
}

/** ORT's per-form figures of one set (loss_prob = mean exp(−mean token NLL), token accuracy; 0…1), before and after. */
export interface UnlearnFormRow {
  set: string;
  form: string;
  items: number;
  before: { lossProb: number; tokenAccuracy: number };
  after?: { lossProb: number; tokenAccuracy: number };
}
