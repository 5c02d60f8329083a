// 'concepts/direction': the Concepts panel's analysis (its "Ablate" action is 'edits/ablate',
// editHandlers.ts).

import type { EditStack } from '../core/edits/stack';
import { conceptDirections } from '../core/analysis/concepts';
import type { EngineServer } from './server';
import { optionalInt, optionalText, texts } from './params';
import { encodeConcepts } from '../protocol/wire';

/** `snapshot`: a request's own copy of the user's stack. */
export function registerConcepts(server: EngineServer, snapshot: () => EditStack): void {
  server.handle('concepts/direction', async (p) => {
    const s = snapshot();
    // Directions and projections cross as tensors (src/protocol/wire.ts), not JSON arrays.
    return encodeConcepts(await conceptDirections(s.model, s, { positive: texts(p.positive, 'positive'), negative: texts(p.negative, 'negative'), probe: optionalText(p.probe, 'probe'), top: optionalInt(p.top, 'top', 1, 1000) }));
  });

}
