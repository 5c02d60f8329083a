// mechedit patch / attribute / attention: exact activation patching, attribution patching (AtP,
// AtP-IG) on a prompt pair, and the attention patterns of a layer (src/core/analysis/patching.ts,
// attribution.ts, heads.ts). patch and attribute print the same grid layout.

import { badInput } from '../../core/errors';
import { patchExact, type PatchingRequest } from '../../core/analysis/patching';
import { attributionPatch } from '../../core/analysis/attribution';
import { attentionPatterns } from '../../core/analysis/heads';
import { PATCH_METRICS, PATCH_NODE_KINDS, type AttentionResult, type PatchingResult, type PatchMetric, type PatchNodeKind } from '../../protocol/patching';
import { intOption, modelHelp, modelOptions, openModel, requireString, type Command } from '../common';

const pairOptions = {
  ...modelOptions,
  clean: { type: 'string' },
  corrupt: { type: 'string' },
  answer: { type: 'string' },
  wrong: { type: 'string' },
  nodes: { type: 'string' },
  metric: { type: 'string' },
} as const;

const pairHelp = '--clean P --corrupt Q --answer A [--wrong B] [--nodes resid,mlp,attn,heads (default resid)] [--metric logit-diff|prob (default logit-diff)] [--json]';

function pairRequest(values: Record<string, unknown>): PatchingRequest {
  const nodes = String(values.nodes ?? 'resid').split(/[,|]/).map((s) => s.trim()).filter(Boolean);
  for (const n of nodes) if (!PATCH_NODE_KINDS.includes(n as PatchNodeKind)) throw badInput(`--nodes: unknown node kind "${n}" (expected ${PATCH_NODE_KINDS.join(', ')}, comma-separated)`, { field: '--nodes' });
  const metric = (values.metric as string | undefined) ?? 'logit-diff';
  if (!PATCH_METRICS.includes(metric as PatchMetric)) throw badInput(`--metric must be ${PATCH_METRICS.join(' or ')}, got "${metric}"`, { field: '--metric' });
  return {
    clean: requireString(values, 'clean'),
    corrupt: requireString(values, 'corrupt'),
    answer: requireString(values, 'answer'),
    wrong: values.wrong as string | undefined,
    metric: metric as PatchMetric,
    nodes: nodes as PatchNodeKind[],
  };
}

const fmt = (v: number | null) => (v === null ? '    —' : v.toFixed(3).padStart(6));

/** The grid printout shared by patch and attribute: normalised values, rows × tokens. */
export function formatPatching(r: PatchingResult): string {
  const what = r.method === 'exact' ? 'exact activation patching' : r.method === 'atp' ? 'attribution patching (AtP)' : `attribution patching with integrated gradients (AtP-IG, ${r.igSteps} steps)`;
  const metric = r.metric === 'prob' ? `P(${JSON.stringify(r.answer.text)})` : `logit(${JSON.stringify(r.answer.text)}) − logit(${JSON.stringify(r.wrong?.text)})`;
  const lines = [`${what}; metric ${metric}: clean ${r.clean.toFixed(4)}, corrupted ${r.corrupt.toFixed(4)}; ${r.ms.toFixed(0)} ms`];
  lines.push('values: (patched − corrupted) / (clean − corrupted)' + (r.method === 'exact' ? '' : ', estimated'));
  for (const g of r.grids) {
    const label = g.kind === 'resid' ? 'resid_post' : g.kind === 'mlp' ? 'mlp_out' : g.kind === 'attn' ? 'attn_out' : 'attention heads';
    lines.push('', `${label} (rows: ${g.kind === 'heads' ? 'layer.head' : 'layers'}; columns: ${r.tokens.map((t) => JSON.stringify(t.text)).join(' ')})`);
    g.normalized.forEach((row, i) => lines.push(`${g.rows[i].padEnd(7)} ${row.map(fmt).join(' ')}`));
  }
  return lines.join('\n');
}

export const patchCmd: Command = {
  summary: 'exact activation patching on a prompt pair: each node\'s clean activation into the corrupted run',
  help: `mechedit patch --model DIR ${pairHelp}\n${modelHelp}`,
  options: pairOptions,
  async run(values) {
    const req = pairRequest(values);
    return patchExact(await openModel(values), req);
  },
  format: (r) => formatPatching(r as PatchingResult),
};

export const attributeCmd: Command = {
  summary: 'attribution patching (AtP, or AtP-IG with --ig-steps): first-order estimates of patching every node',
  help: `mechedit attribute --model DIR ${pairHelp} [--ig-steps N (integrated gradients; default 0: plain AtP)]\n${modelHelp}`,
  options: { ...pairOptions, 'ig-steps': { type: 'string' } },
  async run(values) {
    const req = pairRequest(values);
    const igSteps = intOption(values, 'ig-steps', 0, 0, 1000);
    return attributionPatch(await openModel(values), { ...req, igSteps });
  },
  format: (r) => formatPatching(r as PatchingResult),
};

export const attentionCmd: Command = {
  summary: 'attention patterns (query × key) of a layer\'s heads for a prompt',
  help: `mechedit attention --model DIR --prompt P --layer L [--head H] [--json]\n${modelHelp}`,
  options: { ...modelOptions, prompt: { type: 'string' }, layer: { type: 'string' }, head: { type: 'string' } },
  async run(values) {
    const model = await openModel(values);
    const prompt = requireString(values, 'prompt');
    const layer = intOption(values, 'layer', -1, 0, model.dims.layers - 1);
    if (layer < 0) throw badInput('--layer is required', { field: '--layer' });
    const head = values.head === undefined ? undefined : intOption(values, 'head', 0, 0, model.dims.heads - 1);
    return attentionPatterns(model, { prompt, layer, head });
  },
  format: (r) => {
    const a = r as AttentionResult;
    const toks = a.tokens.map((t) => JSON.stringify(t.text));
    const block = (title: string, m: number[][]) => [title, `${''.padEnd(14)} ${toks.map((t) => t.slice(0, 6).padStart(6)).join(' ')}`, ...m.map((row, q) => `${toks[q].slice(0, 14).padEnd(14)} ${row.map((v) => v.toFixed(3).padStart(6)).join(' ')}`)];
    const parts = a.patterns.flatMap((m, i) => block(`layer ${a.layer} head ${a.heads[i]} (rows: queries; columns: keys)`, m));
    return (a.heads.length > 1 ? [...parts, ...block(`layer ${a.layer}, mean over heads`, a.mean)] : parts).join('\n');
  },
};
