// Forget and retain material for training edits (CONTRACT; being implemented).

export interface TrainItem {
  prompt: string;
  answer: string;
  /** Canonical form: cloze | qa | adversarial | mcq | tf | passage | positive | pair (file's own for JSONL). */
  form: string;
  file: string;
  index: number;
}

export interface UnlearnMaterial {
  /** The concept / target name (ORT folder name, or the file's base name). */
  name: string;
  forget: TrainItem[];
  retain: TrainItem[];
  /** Refusals for RT / DPO (reject.json), empty when the source has none. */
  refusals: string[];
  /** Every file read, with its sha256 (recorded in the edit). */
  sources: { file: string; sha256: string }[];
  /** The forms trained on (after --forms). */
  forms: string[];
}

export function readUnlearnMaterial(o: { forget: string; retain?: string; forms?: string[] }): UnlearnMaterial {
  void o;
  throw new Error('readUnlearnMaterial: being written');
}
