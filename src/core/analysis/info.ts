// The description of an opened model (mechedit info, the Model view).

import { allTapNames } from '../graph/taps';
import type { ModelInfo } from '../../protocol/model';
import type { LoadedModel } from '../runtime/model';
import { defaultEditLayer } from '../edits/rome';
import { defaultRocrSettings } from '../edits/rocr';
import { archFeatures } from '../models/features';

export function modelInfo(model: LoadedModel): ModelInfo {
  const d = model.dims;
  return {
    path: model.checkpoint.dir,
    architecture: d.modelType,
    layers: d.layers,
    dModel: d.dModel,
    dMlp: d.dMlp,
    heads: d.heads,
    kvHeads: d.kvHeads,
    headDim: d.headDim,
    vocabSize: d.vocab,
    contextLength: d.maxPositions,
    dtype: d.dtype,
    parameters: d.params,
    tiedEmbeddings: d.tied,
    rotaryDim: d.rotaryDim,
    features: archFeatures(model.plan),
    executionProvider: model.options.provider,
    fingerprint: model.checkpoint.fingerprint,
    graphFolder: { path: model.graphDir.dir, mode: model.graphDir.mode },
    editLayer: defaultEditLayer(d),
    rocr: defaultRocrSettings(d),
    taps: allTapNames(d.layers),
  };
}
