// The fact-editing side of the findings benches: the model and its compiled core, and one way to
// name a method with settings on the command line and compute its edit at the run's preset.
//
// A method spec is `name=method{json settings}` (or just `method`): --variant 'dike-noloop=dike{"inLoop":false}'.
// Settings the registry lists for the method go to computeFactEdit(method, model, stack, requests,
// {...settings, preset}) and so through the preset's resolution. DiKE's inLoop / fine / bareWeight
// are not registry settings (today): a spec giving them calls computeDike directly with those
// hparams, the preset's values resolved as computeFactEdit does (the row says "direct"). Anything
// else unknown is refused.

import * as path from 'node:path';
import { outOf } from '../lib.mjs';
import { repo } from '../findings-lib.mjs';

export function core(outDir = path.join(repo, 'out')) {
  const out = outOf(outDir);
  return {
    LoadedModel: out('core/runtime/model.js').LoadedModel,
    EditStack: out('core/edits/stack.js').EditStack,
    computeFactEdit: out('core/methods/factEditors.js').computeFactEdit,
    presetOf: out('core/methods/factEditors.js').presetOf,
    resolveSettings: out('core/methods/settings.js').resolveSettings,
    pick: out('core/methods/settings.js').pick,
    objectiveDescriptor: out('core/jobs/unlearnJob.js').objectiveDescriptor,
    factEditor: out('core/methods/factEditors.js').factEditor,
    computeDike: out('core/edits/dike.js').computeDike,
    scoreAnswers: out('core/runtime/answers.js').scoreAnswers,
    out,
  };
}

const DIKE_DIRECT = ['inLoop', 'fine', 'bareWeight'];
/** The shared v* settings → the edit modules' hparams (factEditors.ts `steps()`). */
const V_STAR = [['steps', 'steps'], ['clamp', 'clamp'], ['klFactor', 'klFactor'], ['vLr', 'lr'], ['vWeightDecay', 'weightDecay'], ['stopLoss', 'stopLoss']];

/**
 * Checks up front that a method (fact editor or unlearning objective) has the preset, so a run at
 * `--preset paper` before the paper presets exist stops at once with the registry's message.
 */
export function checkPreset(c, method, preset, kind = 'edit') {
  const d = kind === 'edit' ? c.factEditor(method).descriptor : c.objectiveDescriptor(method);
  try {
    c.presetOf(d, preset);
  } catch (e) {
    console.error(`error: ${e.message}. ${e.data?.hint ?? ''}`);
    process.exit(2);
  }
}

/** `name=method{json}` → {name, method, settings}. */
export function parseSpec(spec) {
  const m = /^(?:([^=]+)=)?([a-z0-9_-]+)(\{.*\})?$/i.exec(spec.trim());
  if (!m) throw new Error(`method spec ${JSON.stringify(spec)}: expected name=method{json settings} or method`);
  const settings = m[3] ? JSON.parse(m[3]) : {};
  return { name: m[1] ?? (m[3] ? `${m[2]}${m[3]}` : m[2]), method: m[2], settings };
}

/**
 * An edit function for a spec: (model, stack, requests) → {edit, direct}. Checks the settings'
 * names against the method's descriptor up front (a typo fails before any case runs).
 */
export function editorFor(c, spec, preset) {
  const d = c.factEditor(spec.method).descriptor;
  checkPreset(c, spec.method, preset);
  const known = new Set(d.settings.map((s) => s.name));
  const unknown = Object.keys(spec.settings).filter((k) => !known.has(k));
  const direct = unknown.length > 0;
  if (direct && (spec.method !== 'dike' || unknown.some((k) => !DIKE_DIRECT.includes(k)))) {
    throw new Error(`${spec.name}: ${unknown.join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not a setting of ${spec.method} (its settings: ${[...known].join(', ')}${spec.method === 'dike' ? `; direct DiKE hparams: ${DIKE_DIRECT.join(', ')}` : ''})`);
  }
  return {
    ...spec,
    direct,
    async compute(model, stack, requests) {
      if (!direct) return (await c.computeFactEdit(spec.method, model, stack, requests, { ...spec.settings, preset })).edit;
      // As factEditors.ts's DiKE entry calls computeDike today (the preset's values resolved, its
      // v* settings mapped to hparams), plus the direct hparams. A preset rule that the entry's code
      // applies from run.preset is not applied here.
      const specs = d.settings.filter((x) => !['subject', 'prompt', 'target'].includes(x.name));
      const s = c.resolveSettings(specs, c.pick(specs, spec.settings), { layers: model.dims.layers }, c.presetOf(d, preset).values);
      const hparams = Object.fromEntries(Object.entries(spec.settings).filter(([k]) => DIKE_DIRECT.includes(k)));
      for (const [name, key] of V_STAR) if (s[name] !== undefined) hparams[key] = s[name];
      if (s.lambda) hparams.lambda = s.lambda;
      const o = { layer: s.layer, krd: s.krd, lti: s.lti, corpus: s.corpus, samples: s.samples, seed: s.seed, hparams };
      return (await c.computeDike(model, stack, requests[0], o)).edit;
    },
  };
}

/** The run's specs: --methods a,b,c and any number of --variant name=method{json}. */
export function specsOf(values, c) {
  const specs = [...values.methods.split(',').filter(Boolean), ...(values.variant ?? [])].map(parseSpec);
  return specs.map((s) => editorFor(c, s, values.preset));
}
