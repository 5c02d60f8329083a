// The model/* requests that read the open model without changing it: causal tracing, predict,
// score, the logit-lens trace and generation. Each runs on `model()`, a view with the user's
// edits as they were when the request started (causal tracing: only the edits it names, if any).

import type { LoadedModel } from '../core/runtime/model';
import { generate, MAX_TEMPERATURE, predict, score, trace } from '../core/runtime/run';
import { causalTrace } from '../core/analysis/causalTrace';
import { greedyAnswer } from '../core/analysis/traceAnswer';
import type { EditStack } from '../core/edits/stack';
import { selectEdits } from './stackSelection';
import { encodeCausalTrace } from '../protocol/wire';
import type { EngineServer } from './server';
import { int, layer, num, oneOf, optionalInt, optionalText, text, texts, LIMITS } from './params';
import { wireVector } from './wireParams';

/** `snapshot`: a request's own copy of the user's stack (model/causalTrace narrows it to the edits it names). */
export function registerAnalysis(server: EngineServer, model: () => LoadedModel, snapshot: () => EditStack): void {
  server.handle('model/causalTrace', async (p, ctx) => {
    const progress = ctx.progress(p.progressToken);
    const { model: m, edits } = selectEdits(snapshot(), p.edits);
    const prompt = text(p.prompt, 'prompt');
    // The score grids cross as tensors (src/protocol/wire.ts); the CLI prints them as numbers.
    const traced = await causalTrace(m, {
      prompt,
      subject: text(p.subject, 'subject'),
      answer: optionalText(p.answer, 'answer'),
      samples: optionalInt(p.samples, 'samples', 1, LIMITS.traceSamples),
      window: optionalInt(p.window, 'window', 1, 1000),
      onProgress: (done, total) => progress.report(done, total, `${done} / ${total} restorations`),
      isCancelled: () => progress.cancelled,
    });
    return { ...encodeCausalTrace(traced), edits, greedy: await greedyAnswer(m, prompt) };
  });
  server.handle('model/predict', async (p) => predict(model(), text(p.prompt, 'prompt'), int(p.top, 'top', 1, 1000, 10)));
  server.handle('model/score', async (p) => score(model(), text(p.prompt, 'prompt'), texts(p.answers, 'answers')));
  server.handle('model/trace', async (p) => {
    const m = model();
    // 'off': the model before the edits, for this run only (the stack is not touched).
    const edits = oneOf(p.edits, 'edits', ['on', 'off'], 'on');
    return trace(edits === 'off' ? m.bare() : m, text(p.prompt, 'prompt'), int(p.top, 'top', 1, 100, 5), optionalInt(p.targetId, 'targetId', 0, m.dims.vocab - 1));
  });
  server.handle('model/generate', async (p, ctx) => {
    const progress = ctx.progress(p.progressToken);
    let n = 0;
    const m = model();
    const steer = p.steer === undefined || p.steer === null ? undefined : { layer: layer(p.steer.layer, m.dims.layers, 'steer.layer'), vector: wireVector(p.steer.vector, m.dims.dModel, 'steer') };
    const maxTokens = int(p.maxTokens, 'maxTokens', 1, 1_000_000);
    return generate(m, text(p.prompt, 'prompt'), {
      steer,
      maxTokens,
      temperature: num(p.temperature, 'temperature', { min: 0, max: MAX_TEMPERATURE, fallback: 0 }),
      topK: optionalInt(p.topK, 'topK', 1, 1_000_000),
      seed: int(p.seed, 'seed', 0, 2 ** 31, 0),
      onToken: (t) => progress.report(++n, maxTokens, t.text, true),
      isCancelled: () => progress.cancelled,
    });
  });
}
