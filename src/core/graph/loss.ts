// The loss head of the v* graph (forward.ts, options.delta) and its gradient.
//
// Rows index the flattened batch: r = b · S + s.
// Inputs:  nll_rows [R] int64, nll_targets [R] int64, nll_weights [R]
//          kl_rows [K] int64, kl_teacher [K, V] (log-probs), kl_weights [K]
//          with a mid layer: mid_rows [M] int64, mid_teacher [M, V], mid_weights [M]
// Outputs: loss = loss_nll + loss_kl (+ loss_mid), scalars
//            loss_nll = −Σ_i w_i · logp[rows_i, target_i]
//            loss_kl  = Σ_k w_k · Σ_v exp(t_kv) (t_kv − logp[rows_k, v])      (KL(teacher ‖ model)),
//                       or with klReverse Σ_k w_k · Σ_v exp(logp) (logp − t_kv)  (KL(model ‖ teacher): the
//                       ROME / MEMIT reference's kl_div(init, current, log_target=True))
//            loss_mid = the same with the logit lens at the mid layer's resid_post
//          nll_logprobs [R], kl_logprobs [K, V] (and mid_logprobs [M, V]): the model's log-probs
//          there (with delta = 0 these are the teacher distributions of an unedited run)
//          grad_delta [d_model] (and grad_resid [B, S, d_model]).

import type { GraphBuilder } from '../onnx/proto';
import { addGradients } from '../onnx/grad';

export interface DeltaLossParts {
  dModel: number;
  /** resid_post of the last block [B, S, d_model]. */
  final: string;
  /** resid_post of the mid layer (LTI), when it lies after the edit layer. */
  mid?: string;
  /** Final norm → unembedding → log-softmax of rows [N, d_model] → [N, V]. */
  logprobs: (rows: string) => string;
  gradResid: boolean;
  /** The `kl` term as KL(model ‖ teacher) (the `mid` term keeps KL(teacher ‖ model)). */
  klReverse?: boolean;
}

export function addDeltaLoss(g: GraphBuilder, p: DeltaLossParts): void {
  const flat = (x: string) => g.op('Reshape', [x, g.int64([-1, p.dModel])]);
  const finalRows = flat(p.final);
  const sum = (x: string) => g.op('ReduceSum', [x], { keepdims: 0 });

  // NLL of the targets
  g.input('nll_rows', 'int64', ['nll']);
  g.input('nll_targets', 'int64', ['nll']);
  g.input('nll_weights', 'float32', ['nll']);
  const lp = p.logprobs(g.op('Gather', [finalRows, 'nll_rows'], { axis: 0 }));
  const picked = g.op('GatherElements', [lp, g.op('Unsqueeze', ['nll_targets', g.int64([1])])], { axis: 1 });
  g.op('Squeeze', [picked, g.int64([1])], {}, 'nll_logprobs');
  g.output('nll_logprobs', 'float32', ['nll']);
  const nll = g.op('Neg', [sum(g.op('Mul', ['nll_logprobs', 'nll_weights']))], {}, 'loss_nll');
  g.output(nll, 'float32', []);

  // KL(teacher ‖ model) at chosen rows of some hidden state
  const kl = (name: string, hidden: string): string => {
    g.input(`${name}_rows`, 'int64', [name]);
    g.input(`${name}_teacher`, 'float32', [name, 'vocab']);
    g.input(`${name}_weights`, 'float32', [name]);
    const model = g.op('Identity', [p.logprobs(g.op('Gather', [flat(hidden), `${name}_rows`], { axis: 0 }))], {}, `${name}_logprobs`);
    g.output(model, 'float32', [name, 'vocab']);
    const teacher = `${name}_teacher`;
    const reverse = p.klReverse && name === 'kl';
    const perRow = reverse
      ? g.op('ReduceSum', [g.op('Mul', [g.op('Exp', [model]), g.op('Sub', [model, teacher])]), g.int64([1])], { keepdims: 0 })
      : g.op('ReduceSum', [g.op('Mul', [g.op('Exp', [teacher]), g.op('Sub', [teacher, model])]), g.int64([1])], { keepdims: 0 });
    const loss = g.op('Identity', [sum(g.op('Mul', [perRow, `${name}_weights`]))], {}, `loss_${name}`);
    g.output(loss, 'float32', []);
    return loss;
  };
  const terms = [nll, kl('kl', p.final)];
  if (p.mid) terms.push(kl('mid', p.mid));
  g.op('Sum', terms, {}, 'loss');
  g.output('loss', 'float32', []);

  const wrt = p.gradResid ? ['delta', 'resid'] : ['delta'];
  const grads = addGradients(g, 'loss', wrt);
  g.op('Identity', [grads[0]], {}, 'grad_delta');
  g.output('grad_delta', 'float32', [p.dModel]);
  if (p.gradResid) {
    g.op('Identity', [grads[1]], {}, 'grad_resid');
    g.output('grad_resid', 'float32', ['batch', 'seq', p.dModel]);
  }
}
