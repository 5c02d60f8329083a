// The commands of `mechedit`, by name: one file per command (or per family of small ones).

import type { Command } from '../common';
import { doctor } from './doctor';
import { info, tokenizeCmd, predictCmd, scoreCmd, traceCmd, causalTraceCmd, generateCmd } from './model';
import { evoke } from './evoke';
import { ort } from './ort';
import { merge } from './merge';
import { edit } from './edit';
import { stats } from './stats';
import { bakeCmd } from './bake';
import { unlearn } from './unlearn';
import { dike } from './dike';
import { fineKed } from './fineKed';
import { probes } from './probes';
import { zsre } from './zsre';
import { sequential } from './sequential';
import { methods } from './methods';
import { sweep } from './sweep';
import { patchCmd, attributeCmd, attentionCmd } from './patch';
import { sae } from './sae';

export type { Command } from '../common';

export const commands: Record<string, Command> = {
  ort,
  edit,
  unlearn,
  dike,
  stats,
  bake: bakeCmd,
  evoke,
  'fine-ked': fineKed,
  probes,
  zsre,
  sequential,
  merge,
  sweep,
  info,
  tokenize: tokenizeCmd,
  predict: predictCmd,
  score: scoreCmd,
  trace: traceCmd,
  'causal-trace': causalTraceCmd,
  patch: patchCmd,
  attribute: attributeCmd,
  attention: attentionCmd,
  sae,
  generate: generateCmd,
  methods,
  doctor,
};
