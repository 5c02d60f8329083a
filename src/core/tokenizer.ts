// Tokenizer from tokenizer.json (@huggingface/tokenizers, pure JS) and chat templates from
// tokenizer_config.json (@huggingface/jinja).
//
// For Llama and Gemma tokenizer classes, tokenizer_config.json's add_bos_token / add_eos_token
// decide the special tokens around a text, as in transformers (withConfigSpecials).
//
// A tokenizer.json is checked when it is read: its sections (model, normalizer, pre_tokenizer,
// post_processor, decoder, added_tokens) must have the shapes the library expects, and it must
// encode and decode a sample text; a broken one is refused naming the file and the section, not
// at the first prompt with the library's stack trace. Text longer than any text that can fit the
// model's context (`maxChars`) is refused before it is tokenised, so a 100 MB prompt costs
// nothing.

import { Tokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';
import type { Checkpoint } from './checkpoint/checkpoint';
import { badInput, MechEditError } from './errors';
import { readInputText } from './inputs';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

const SECTIONS = ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder'] as const;
/** Where in tokenizer.json a failure comes from, by the library's function names in its stack. */
const SECTION_OF: [RegExp, string][] = [[/post_process/i, 'post_processor'], [/pre_tokeni/i, 'pre_tokenizer'], [/normaliz/i, 'normalizer'], [/decode/i, 'decoder']];
/** Characters per token assumed by the length bound when the vocabulary's tokens are all shorter. */
const MIN_CHARS_PER_TOKEN = 64;

export class TextTokenizer {
  private readonly tok: Tokenizer;
  private readonly chatTemplate?: string;
  private readonly config: Record<string, unknown>;
  /** The longest text that can fit `contextTokens` tokens (Infinity without a context). */
  readonly maxChars: number;
  /** What add_special_tokens puts before a text (tokenizer.json's post_processor): Gemma's and Llama's BOS, none for Qwen. */
  readonly specialPrefix: number[];

  /** `contextTokens`: the model's context; longer texts than any that fits it are refused before tokenising. */
  constructor(json: Record<string, unknown>, config: Record<string, unknown> = {}, readonly file = 'tokenizer.json', contextTokens?: number) {
    this.config = config;
    checkSections(json, file);
    json = withConfigSpecials(json, config);
    try {
      this.tok = new Tokenizer(json, config);
    } catch (e) {
      throw badInput(`Cannot build the tokenizer: ${(e as Error).message}`, { file, field: sectionOf(e), hint: 'tokenizer.json is not a Hugging Face tokenizers file MechEdit can read.' });
    }
    this.maxChars = contextTokens === undefined ? Infinity : contextTokens * Math.max(MIN_CHARS_PER_TOKEN, longestToken(json));
    this.specialPrefix = this.call(() => leadingSpecials(this.tok));
    // A trial run, so that a tokenizer that builds but cannot work is refused now.
    this.decode(this.encode('Hello, world! 123 The end.'));
    const t = config.chat_template;
    this.chatTemplate = typeof t === 'string' ? t : Array.isArray(t) ? (t.find((x) => x?.name === 'default')?.template as string | undefined) : undefined;
  }

  static fromCheckpoint(ckpt: Checkpoint, contextTokens?: number): TextTokenizer {
    if (!ckpt.tokenizerFile) {
      throw badInput('The checkpoint has no tokenizer.json', { file: ckpt.dir, hint: 'Copy tokenizer.json from the model\'s repository into the folder (MechEdit does not read sentencepiece .model files).' });
    }
    const text = readInputText(ckpt.tokenizerFile, 'tokenizer');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw badInput(`Invalid tokenizer.json: ${(e as Error).message}`, { file: ckpt.tokenizerFile, hint: 'The file is corrupt; download it again.' });
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw badInput('tokenizer.json is not a JSON object', { file: ckpt.tokenizerFile, hint: 'The file is corrupt; download it again.' });
    return new TextTokenizer(json as Record<string, unknown>, ckpt.tokenizerConfig ?? {}, ckpt.tokenizerFile, contextTokens);
  }

  /**
   * Token ids of `text`; special tokens (e.g. Gemma's and Llama's BOS) only when `special` is set,
   * as tokenizer.json's post_processor adds them (Hugging Face's add_special_tokens). A text that
   * already begins with that prefix (a rendered chat template: Gemma's and Llama 3's write
   * <bos> themselves) gets it once, as apply_chat_template(tokenize=True) encodes it, not twice.
   * Text over maxChars is refused (field 'prompt').
   */
  encode(text: string, special = true): number[] {
    this.refuseLong(text);
    const ids = this.call(() => this.tok.encode(text, { add_special_tokens: special }).ids);
    const p = this.specialPrefix;
    const doubled = special && p.length > 0 && ids.length >= 2 * p.length && p.every((id, i) => ids[i] === id && ids[p.length + i] === id);
    return doubled ? ids.slice(p.length) : ids;
  }

  /**
   * Token ids of a long document (a corpus): encoded in pieces of at most maxChars, cut at
   * whitespace where there is some, so no piece is refused for its length.
   */
  encodeDocument(text: string, special = true): number[] {
    if (text.length <= this.maxChars) return this.encode(text, special);
    const ids: number[] = [];
    for (let at = 0; at < text.length;) {
      let end = Math.min(text.length, at + this.maxChars);
      const space = end < text.length ? text.lastIndexOf(' ', end) : -1;
      if (space > at) end = space;
      ids.push(...this.encode(text.slice(at, end), special && at === 0));
      at = end;
    }
    return ids;
  }

  tokens(text: string, special = true): string[] {
    this.refuseLong(text);
    return this.call(() => this.tok.encode(text, { add_special_tokens: special }).tokens);
  }

  decode(ids: number[], skipSpecial = false): string {
    if (ids.length === 0) return '';
    return this.call(() => this.tok.decode(ids, { skip_special_tokens: skipSpecial, clean_up_tokenization_spaces: false }));
  }

  /** The text of one token as it reads in context (byte-level pieces decoded). */
  tokenText(id: number): string {
    return this.decode([id]);
  }

  idOf(token: string): number | undefined {
    return this.call(() => this.tok.token_to_id(token));
  }

  get hasChatTemplate(): boolean {
    return this.chatTemplate !== undefined;
  }

  /**
   * Renders the chat template (for chat models) with a generation prompt, as transformers'
   * apply_chat_template does (trim_blocks and lstrip_blocks; bos_token / eos_token from
   * tokenizer_config.json). `extra`: further template variables, e.g. Qwen3's enable_thinking.
   */
  applyChatTemplate(messages: ChatMessage[], addGenerationPrompt = true, extra: Record<string, unknown> = {}): string {
    if (!this.chatTemplate) throw badInput('This model has no chat template', { file: 'tokenizer_config.json', field: 'chat_template' });
    const special = (k: string) => {
      const v = this.config[k];
      return typeof v === 'string' ? v : typeof v === 'object' && v !== null ? (v as { content?: string }).content ?? '' : '';
    };
    return new Template(this.chatTemplate).render({
      ...extra,
      messages,
      add_generation_prompt: addGenerationPrompt,
      bos_token: special('bos_token'),
      eos_token: special('eos_token'),
    });
  }

  private refuseLong(text: string): void {
    if (text.length > this.maxChars) {
      throw badInput(`The text is ${text.length.toLocaleString('en-US')} characters long; no text over ${this.maxChars.toLocaleString('en-US')} characters fits the model's context`, { field: 'prompt', hint: 'Shorten the prompt (or the subject).' });
    }
  }

  /** Runs a library call; what it throws becomes a bad-input error naming tokenizer.json and the section. */
  private call<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof MechEditError) throw e;
      throw badInput(`tokenizer.json cannot tokenise: ${(e as Error)?.message ?? e}`, { file: this.file, field: sectionOf(e), hint: 'The tokenizer file is broken or of a kind MechEdit cannot run; download it again.' });
    }
  }
}

/** Tokenizer classes whose fast tokenizer rebuilds its post-processor from add_bos_token / add_eos_token (transformers' update_post_processor). */
const CONFIG_SPECIALS = /^(Llama|CodeLlama|Gemma)Tokenizer(Fast)?$/;

/**
 * tokenizer.json with the post_processor that Hugging Face's Llama and Gemma tokenizers build from
 * tokenizer_config.json: when the config sets add_bos_token or add_eos_token, single is
 * `[bos] $A [eos]` and pair `[bos] $A [eos] [bos] $B [eos]`, whatever tokenizer.json says
 * (Gemma 3's and Llama 2's configs agree with their files). Other classes (Qwen2Tokenizer,
 * PreTrainedTokenizerFast) keep tokenizer.json's post_processor, as transformers does.
 */
function withConfigSpecials(json: Record<string, unknown>, config: Record<string, unknown>): Record<string, unknown> {
  const { add_bos_token: addBos, add_eos_token: addEos } = config;
  if (typeof config.tokenizer_class !== 'string' || !CONFIG_SPECIALS.test(config.tokenizer_class)) return json;
  if (typeof addBos !== 'boolean' && typeof addEos !== 'boolean') return json;
  const idOf = (key: string): [string, number] | undefined => {
    const v = config[key];
    const content = typeof v === 'string' ? v : (v as { content?: unknown } | null)?.content;
    if (typeof content !== 'string') return undefined;
    const added = (json.added_tokens as { id: number; content: string }[] | undefined)?.find((x) => x.content === content);
    const vocab = (json.model as { vocab?: unknown }).vocab;
    const id = added?.id ?? (Array.isArray(vocab) ? vocab.findIndex((v) => Array.isArray(v) && v[0] === content) : (vocab as Record<string, number> | undefined)?.[content]);
    return typeof id === 'number' && id >= 0 ? [content, id] : undefined;
  };
  const bos = addBos === true ? idOf('bos_token') : undefined;
  const eos = addEos === true ? idOf('eos_token') : undefined;
  // A token the config names but the vocabulary lacks: keep tokenizer.json's own post_processor.
  if ((addBos === true && !bos) || (addEos === true && !eos)) return json;
  const special = (t: [string, number] | undefined, typeId: number) => (t ? [{ SpecialToken: { id: t[0], type_id: typeId } }] : []);
  const part = (seq: 'A' | 'B', typeId: number) => [...special(bos, typeId), { Sequence: { id: seq, type_id: typeId } }, ...special(eos, typeId)];
  const specialTokens = Object.fromEntries([bos, eos].filter((t): t is [string, number] => !!t).map(([c, id]) => [c, { id: c, ids: [id], tokens: [c] }]));
  return { ...json, post_processor: { type: 'TemplateProcessing', single: part('A', 0), pair: [...part('A', 0), ...part('B', 1)], special_tokens: specialTokens } };
}

/** The ids add_special_tokens puts before a text (not those after it, e.g. an EOS). */
function leadingSpecials(tok: Tokenizer): number[] {
  const withSpecials: number[] = tok.encode('a', { add_special_tokens: true }).ids;
  const plain: number[] = tok.encode('a', { add_special_tokens: false }).ids;
  for (let k = 0; k + plain.length <= withSpecials.length; k++) {
    if (plain.every((id, i) => withSpecials[k + i] === id)) return withSpecials.slice(0, k);
  }
  return [];
}

function sectionOf(e: unknown): string {
  const stack = String((e as Error)?.stack ?? e);
  return SECTION_OF.find(([re]) => re.test(stack))?.[1] ?? 'model';
}

/** The shapes @huggingface/tokenizers relies on without checking them. */
function checkSections(json: Record<string, unknown>, file: string): void {
  const bad = (field: string, want: string, got: unknown) => badInput(`"${field}" must be ${want}, got ${JSON.stringify(got)?.slice(0, 80)}`, { file, field, hint: 'tokenizer.json is corrupt or not a Hugging Face tokenizers file; download it again.' });
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(json.model)) throw bad('model', 'an object', json.model);
  for (const k of SECTIONS) {
    const v = json[k];
    if (v !== undefined && v !== null && !(isObject(v) && typeof v.type === 'string')) throw bad(k, 'null or an object with a "type"', v);
  }
  const added = json.added_tokens;
  if (added !== undefined && added !== null) {
    if (!Array.isArray(added)) throw bad('added_tokens', 'a list', added);
    added.forEach((t, i) => {
      if (!isObject(t) || !Number.isInteger(t.id) || (t.id as number) < 0 || typeof t.content !== 'string' || t.content.length === 0) throw bad(`added_tokens[${i}]`, 'an object with an "id" ≥ 0 and a non-empty "content"', t);
    });
  }
}

/** The longest token text in the vocabulary and the added tokens (characters). */
function longestToken(json: Record<string, unknown>): number {
  const model = json.model as { vocab?: unknown };
  const vocab = model.vocab;
  let longest = 0;
  if (Array.isArray(vocab)) for (const v of vocab) longest = Math.max(longest, String(Array.isArray(v) ? v[0] : v).length);
  else if (vocab && typeof vocab === 'object') for (const k of Object.keys(vocab)) longest = Math.max(longest, k.length);
  for (const t of (json.added_tokens as { content?: string }[] | undefined) ?? []) longest = Math.max(longest, t.content?.length ?? 0);
  return longest;
}
