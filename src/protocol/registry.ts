// The method registry as it travels: what every edit method, training objective and diagnostic
// is, its settings (typed, with defaults and bounds) and its presets. The registry itself lives
// in core (src/core/registry/), beside the code it binds; the engine answers 'registry/describe'
// with these descriptors, the CLI derives its flags and help from them, the build writes
// package.json's enums and the edit schema's method list from them, and the extension's quick
// picks and the webviews' method lists come from them. Nothing here is a hand-written list of
// methods.

/** How a setting's value is written: numbers, whole numbers, switches, words, layers, files. */
export type SettingType =
  | 'int'
  | 'number'
  | 'boolean'
  | 'string'
  | 'enum'
  /** One layer of the model (0 … layers − 1). */
  | 'layer'
  /** Distinct layers of the model ("4,5,6" or "4-6" on the command line). */
  | 'layers'
  /** A path to read. */
  | 'file'
  /** Several paths to read. */
  | 'files'
  /** Several words ("qa,cloze" on the command line). */
  | 'strings'
  /** Several numbers ("0,0.5,1" on the command line). */
  | 'numbers'
  /** Several free texts (the flag repeated on the command line; commas are kept). */
  | 'texts';

/** One setting of a method. `name` is the neutral field name: the engine's request field, and the CLI's flag in kebab case. */
export interface SettingSpec {
  name: string;
  type: SettingType;
  /** One line: what it does, for help texts, hovers and the docs. */
  doc: string;
  /** The value used when none is given and no preset or checkpoint rule sets one. */
  default?: number | string | boolean | readonly number[] | readonly string[];
  /** When the default is worked out from the checkpoint (its config, statistics or causal trace): how, in words. */
  fromCheckpoint?: string;
  /** Bounds of a number (and of each entry of 'numbers'); `exclusiveMin`: the value must be above min. */
  min?: number;
  max?: number;
  exclusiveMin?: boolean;
  /** The words an 'enum' (or each of 'strings') may be. */
  options?: readonly string[];
  /** When `options` come from the registry itself (the fact editors usable per case, say): that rule, in words, for the docs. */
  optionsFrom?: string;
  unit?: string;
  /** Must be given (no default, preset or checkpoint rule). */
  required?: boolean;
  /** The CLI flag, when it is not the name in kebab case (ROCR's harmless concept is --to). */
  cli?: string;
}

/** A named set of setting values (`tuned`: MechEdit's measured defaults; `paper`: the reference's). */
export interface PresetSpec {
  id: string;
  doc: string;
  /** Fixed values (a setting given by the user still wins). */
  values: Readonly<Record<string, unknown>>;
  /**
   * Settings the preset derives from the open model by a written transfer rule (the method's code
   * applies it when the setting is not given; the edit file records the value it resolved to):
   * setting name → the rule in words ("λ = 3.1 × d_mlp, the reference's λ / E[kᵀC⁻¹k]").
   */
  rules?: Readonly<Record<string, string>>;
}

/**
 * What a method acts on:
 * - fact: one fact request per edit; batch: several fact requests in one edit;
 * - concept: a concept to redirect; direction: a vector to ablate; vectors: user-made factors;
 * - training: a gradient-trained edit from forget / retain material;
 * - diagnostic: a measurement over a data file or a run.
 */
export type MethodKind = 'fact' | 'batch' | 'concept' | 'direction' | 'vectors' | 'training' | 'diagnostic';

/** Where a method can be used beyond its own command (fact editors). */
export interface MethodCapabilities {
  /** Each case's own edit in EVOKE / FINE-KED / probes runs. */
  perCase?: boolean;
  /** `mechedit sequential` and the Lifelong panel. */
  sequential?: boolean;
  /** EVOKE's LTI (the in-context teacher) applies. */
  lti?: boolean;
}

export interface MethodDescriptor {
  id: string;
  label: string;
  /** One line. */
  description: string;
  family: 'edit' | 'objective' | 'diagnostic';
  kind: MethodKind;
  /** The paper it implements. */
  paper?: { title: string; year: number; url?: string };
  settings: readonly SettingSpec[];
  presets: readonly PresetSpec[];
  /** The preset used when none is chosen. */
  defaultPreset?: string;
  /** What a run writes or returns, in words (an edit file; a run folder with run.json, cases.jsonl, …). */
  outputs: readonly string[];
  capabilities?: MethodCapabilities;
  /** The page in docs/ that describes it (relative to the repository). */
  doc?: string;
  /** The `method` its edit files record, when not its id (import writes "manual", the objectives "unlearn"). */
  writes?: string;
  /** One measured figure on the bundled model, with the command that printed it and the date (the README's table). */
  measured?: string;
}

/** 'registry/describe': every method, objective and diagnostic, in the order they are listed to users. */
export interface RegistryDescription {
  methods: MethodDescriptor[];
  objectives: MethodDescriptor[];
  diagnostics: MethodDescriptor[];
}

/** The fact editors usable as each case's own edit, or in sequential runs. */
export function factEditors(r: Pick<RegistryDescription, 'methods'>, capability?: keyof MethodCapabilities): MethodDescriptor[] {
  return r.methods.filter((m) => (m.kind === 'fact' || m.kind === 'batch') && (!capability || m.capabilities?.[capability]));
}

/** A preset as a panel's choice lists it. */
export interface PresetChoice {
  id: string;
  doc: string;
}

/** A method as a panel's choice lists it: what the host sends in a panel's context. */
export interface MethodChoice {
  id: string;
  label: string;
  kind: MethodKind;
  description: string;
  /** The names of its settings (which of the panel's own settings apply to it). */
  settings: string[];
  /** Its presets, and the one used when none is chosen. */
  presets: PresetChoice[];
  defaultPreset?: string;
}

export function methodChoice(m: MethodDescriptor): MethodChoice {
  return { id: m.id, label: m.label, kind: m.kind, description: m.description, settings: m.settings.map((s) => s.name), presets: m.presets.map((p) => ({ id: p.id, doc: p.doc })), defaultPreset: m.defaultPreset };
}

/** The preset a run of `m` sends when `wanted` was chosen: `wanted` when `m` has it, else none (its default preset). */
export function presetFor(m: { presets: readonly { id: string }[] } | undefined, wanted: string | undefined): string | undefined {
  return wanted && m?.presets.some((p) => p.id === wanted) ? wanted : undefined;
}

/**
 * A panel's preset choice for the methods it runs: '' (each method's default, named when they share
 * one) then every preset id any of them has, once, in their order, each with the methods that have
 * it when not all do. Empty when none of them has more than one preset (nothing to choose).
 */
export function presetOptions(methods: readonly Pick<MethodChoice, 'label' | 'presets' | 'defaultPreset'>[]): { id: string; label: string }[] {
  if (!methods.some((m) => m.presets.length > 1)) return [];
  const ids = [...new Set(methods.flatMap((m) => m.presets.map((p) => p.id)))];
  const defaults = [...new Set(methods.map((m) => m.defaultPreset ?? m.presets[0]?.id))];
  const first = { id: '', label: defaults.length === 1 && defaults[0] ? `the default (${defaults[0]})` : "each method's default" };
  return [first, ...ids.map((id) => {
    const has = methods.filter((m) => m.presets.some((p) => p.id === id));
    return { id, label: has.length === methods.length ? id : `${id} (${has.map((m) => m.label).join(', ')})` };
  })];
}

/** Whether a method takes a setting of that name. */
export function takesSetting(m: Pick<MethodDescriptor, 'settings'>, name: string): boolean {
  return m.settings.some((s) => s.name === name);
}

/** A method's label by id (the id itself when it is not in the registry). */
export function labelOf(r: RegistryDescription, id: string): string {
  return [...r.methods, ...r.objectives, ...r.diagnostics].find((m) => m.id === id)?.label ?? id;
}
