// 'sae/tokens' and 'sae/feature': the Features view's reads of a sparse autoencoder (core/sae/).
// "Ablate feature" is 'edits/run' with method 'sae-ablate' (editHandlers.ts).

import type { EditStack } from '../core/edits/stack';
import { openSae } from '../core/sae/saeFile';
import { topFeaturesAtTokens } from '../core/sae/features';
import { featurePage } from '../core/analysis/featurePage';
import { corpusRows } from '../core/sae/activations';
import { defaultCorpus } from '../core/edits/stats';
import type { EngineServer } from './server';
import { optionalInt, text, texts } from './params';

/** `snapshot`: a request's own copy of the user's stack. */
export function registerSae(server: EngineServer, snapshot: () => EditStack): void {
  server.handle('sae/tokens', async (p) => {
    const s = snapshot();
    const sae = openSae(text(p.sae, 'sae'), s.model.dims);
    return topFeaturesAtTokens(s.model, sae, text(p.prompt, 'prompt'), optionalInt(p.top, 'top', 1, 100) ?? 5);
  });
  server.handle('sae/feature', async (p) => {
    const s = snapshot();
    const sae = openSae(text(p.sae, 'sae'), s.model.dims);
    const feature = optionalInt(p.feature, 'feature', 0, sae.dSae - 1) ?? 0;
    const corpus = Array.isArray(p.corpus) && p.corpus.length ? p.corpus.map((f, i) => text(f, `corpus[${i}]`)) : defaultCorpus(s.model);
    const rows = corpusRows(s.model, corpus, 'heldout', optionalInt(p.tokens, 'tokens', 1, 1e8) ?? 20_000).rows;
    const concepts = Array.isArray(p.concepts) ? p.concepts.map((c, i) => ({ name: text(c?.name, `concepts[${i}].name`), positive: texts(c?.positive, `concepts[${i}].positive`), negative: texts(c?.negative, `concepts[${i}].negative`) })) : undefined;
    return featurePage(s.model, s, sae, feature, rows, { contexts: 8, top: 8, concepts });
  });
}
