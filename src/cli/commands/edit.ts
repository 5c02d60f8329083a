// `mechedit edit <method>`: compute an edit file with any edit method of the registry. Flags,
// help and checks come from the method's descriptor; the work is core's runEditJob, the same
// job the engine runs for VS Code.

import * as path from 'node:path';
import { badInput } from '../../core/errors';
import { EditStack } from '../../core/edits/stack';
import { SUCCESS_FLOOR } from '../../core/edits/outcome';
import { EDIT_METHOD_DESCRIPTORS, editMethodDescriptor, editMethodIsCpuOnly, runEditJob, type EditJobResult } from '../../core/jobs/editJob';
import { modelOptions, openModel, openOnCpu, readEditShown, stacks, type Command } from '../common';
import { methodSettings, settingsHelp, settingOptions, usageLine } from '../registryFlags';

const HELP = [
  ...EDIT_METHOD_DESCRIPTORS.map((d) => usageLine(`mechedit edit ${d.id} --model DIR`, d.settings)),
  '                  [--preset ID] [--edits FILE …] [--force] [--out DIR] [--json]',
  '',
  ...EDIT_METHOD_DESCRIPTORS.flatMap((d) => [`${d.id}: ${d.description}${d.presets.length ? ` (presets: ${d.presets.map((p) => p.id).join(', ')})` : ''}`, ...settingsHelp(d.settings)]),
  '',
  'common:',
  '  --model DIR / --default  the checkpoint, or the bundled default model; --provider, --threads as elsewhere',
  '  --edits FILE …           edits applied before computing (AlphaEdit keeps their keys, ROCR adds them to C_prev)',
  '  --preset ID              the method\'s preset (mechedit methods lists them; default: its default preset)',
  '  --out DIR                where <id>.json and <id>.safetensors go (default .mechedit/edits)',
  '  --force                  compute a fact edit whose target the tokenizer splits into byte pieces or more than 8 tokens;',
  '                           and replace an --out FILE.json that MechEdit did not write',
  `Fact edits say when they did not take (the target not top-1 on its own prompt, or P < ${100 * SUCCESS_FLOOR} %): the file is`,
  'written, with succeeded: false in the output and the reason in its health warnings.',
].join('\n');

export const edit: Command = {
  summary: `compute an edit file: ${EDIT_METHOD_DESCRIPTORS.map((d) => d.id).join(', ')}`,
  help: HELP,
  options: { ...modelOptions, ...settingOptions(EDIT_METHOD_DESCRIPTORS.flatMap((d) => d.settings)), out: { type: 'string' }, force: { type: 'boolean' }, preset: { type: 'string' } },
  allowPositionals: true,
  fields: EDIT_METHOD_DESCRIPTORS.flatMap((d) => d.settings),
  async run(values, ctx) {
    const method = ctx.positionals?.[0];
    if (method === undefined) throw badInput('Which edit method?', { field: 'method', hint: `mechedit edit <method> …, with one of: ${EDIT_METHOD_DESCRIPTORS.map((d) => d.id).join(', ')}.` });
    const d = editMethodDescriptor(method);
    const settings = methodSettings(d, values, EDIT_METHOD_DESCRIPTORS); // a flag of another method fails before the model opens
    const outDir = (values.out as string | undefined) ?? path.join('.mechedit', 'edits');
    let stack: EditStack;
    if (editMethodIsCpuOnly(d.id)) {
      stack = new EditStack(openOnCpu(values));
      for (const f of (values.edits as string[] | undefined) ?? []) stack.apply(readEditShown(f));
    } else {
      stack = stacks.get(await openModel(values))!;
    }
    const r = await runEditJob(stack, { method: d.id, settings, preset: values.preset as string | undefined, outDir, force: values.force === true, forceHint: 'pass --force' });
    for (const w of r.health.warnings) process.stderr.write(`mechedit: warning: ${w}\n`);
    return output(r);
  },
  format: (r) => {
    const x = r as { file: string; succeeded?: boolean };
    return x.succeeded === false ? `wrote ${x.file}, but the edit did not take (see the warning above); apply it only on purpose` : `wrote ${x.file}`;
  },
};

/** What --json prints: the file, the outcome of a fact edit, its targets, settings, health and v* summary. */
function output(r: EditJobResult) {
  const single = editMethodDescriptor(r.method).kind === 'fact';
  const vstar = !r.vstar ? undefined : single
    ? { steps: r.vstar[0].steps, timingMs: r.timing, ortMs: r.vstar[0].ortMs, jsMs: r.vstar[0].jsMs }
    : { perRequest: r.vstar.map((v) => ({ steps: v.steps.length, loss: v.steps[v.steps.length - 1].loss, targetProb: v.steps[v.steps.length - 1].targetProb })), timingMs: r.timing };
  return {
    file: r.file, id: r.edit.json.id, method: r.method, preset: r.preset, ...(r.outcome ?? {}),
    targets: r.edit.json.targets.map(({ layer, module, rank }) => ({ layer, module, rank })),
    hparams: r.edit.json.hparams, health: r.health, ...(vstar ? { vstar } : {}),
  };
}
