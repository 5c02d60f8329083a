// `mechedit bake`: a new checkpoint folder with edits baked in.

import { badInput } from '../../core/errors';
import { EditStack } from '../../core/edits/stack';
import { bake, checkBakeOut } from '../../core/edits/bake';
import { modelOptions, openOnCpu, readEditShown, requireString, type Command } from '../common';
import { FORCE_SETTING } from '../../core/outputs';
import { settingOptions, settingsHelp } from '../registryFlags';

export const bakeCmd: Command = {
  summary: 'write a new checkpoint folder with edits baked into the weights',
  help: ['mechedit bake --model DIR --edits FILE … --out DIR2 [--force] [--json]', '  The source checkpoint is only read; DIR2 must be new, empty or an earlier bake.', ...settingsHelp([FORCE_SETTING])].join('\n'),
  options: { ...modelOptions, out: { type: 'string' }, ...settingOptions([FORCE_SETTING]) },
  async run(values) {
    const out = requireString(values, 'out');
    if (!(values.edits as string[] | undefined)?.length) throw badInput('--edits is required', { field: '--edits' });
    const model = openOnCpu(values);
    const force = values.force === true;
    checkBakeOut(out, model.checkpoint, force);
    const stack = new EditStack(model);
    for (const f of values.edits as string[]) stack.apply(readEditShown(f));
    return bake(stack.model, out, stack.list(), force);
  },
  format: (r) => `baked ${(r as { modified: string[] }).modified.length} weight(s) into ${(r as { out: string }).out}`,
};
