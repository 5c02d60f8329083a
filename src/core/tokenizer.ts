// Tokenizer from tokenizer.json (@huggingface/tokenizers, pure JS) and chat templates from
// tokenizer_config.json (@huggingface/jinja).

import * as fs from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';
import type { Checkpoint } from './checkpoint/checkpoint';
import { badInput } from './errors';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export class TextTokenizer {
  private readonly tok: Tokenizer;
  private readonly chatTemplate?: string;
  private readonly config: Record<string, unknown>;

  constructor(json: Record<string, unknown>, config: Record<string, unknown> = {}, readonly file = 'tokenizer.json') {
    this.config = config;
    try {
      this.tok = new Tokenizer(json, config);
    } catch (e) {
      throw badInput(`Cannot build the tokenizer: ${(e as Error).message}`, { file, hint: 'tokenizer.json is not a Hugging Face tokenizers file MechEdit can read.' });
    }
    const t = config.chat_template;
    this.chatTemplate = typeof t === 'string' ? t : Array.isArray(t) ? (t.find((x) => x?.name === 'default')?.template as string | undefined) : undefined;
  }

  static fromCheckpoint(ckpt: Checkpoint): TextTokenizer {
    if (!ckpt.tokenizerFile) {
      throw badInput('The checkpoint has no tokenizer.json', { file: ckpt.dir, hint: 'Copy tokenizer.json from the model\'s repository into the folder (MechEdit does not read sentencepiece .model files).' });
    }
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(fs.readFileSync(ckpt.tokenizerFile, 'utf8'));
    } catch (e) {
      throw badInput(`Invalid tokenizer.json: ${(e as Error).message}`, { file: ckpt.tokenizerFile, hint: 'The file is corrupt; download it again.' });
    }
    return new TextTokenizer(json, ckpt.tokenizerConfig ?? {}, ckpt.tokenizerFile);
  }

  /** Token ids of `text`; special tokens (e.g. Llama's BOS) only when `special` is set. */
  encode(text: string, special = true): number[] {
    return this.tok.encode(text, { add_special_tokens: special }).ids;
  }

  tokens(text: string, special = true): string[] {
    return this.tok.encode(text, { add_special_tokens: special }).tokens;
  }

  decode(ids: number[], skipSpecial = false): string {
    return this.tok.decode(ids, { skip_special_tokens: skipSpecial, clean_up_tokenization_spaces: false });
  }

  /** The text of one token as it reads in context (byte-level pieces decoded). */
  tokenText(id: number): string {
    return this.tok.decode([id], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  idOf(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }

  get hasChatTemplate(): boolean {
    return this.chatTemplate !== undefined;
  }

  /** Renders the chat template (for chat models) with a generation prompt. */
  applyChatTemplate(messages: ChatMessage[], addGenerationPrompt = true): string {
    if (!this.chatTemplate) throw badInput('This model has no chat template', { file: 'tokenizer_config.json', field: 'chat_template' });
    const special = (k: string) => {
      const v = this.config[k];
      return typeof v === 'string' ? v : typeof v === 'object' && v !== null ? (v as { content?: string }).content ?? '' : '';
    };
    return new Template(this.chatTemplate).render({
      messages,
      add_generation_prompt: addGenerationPrompt,
      bos_token: special('bos_token'),
      eos_token: special('eos_token'),
    });
  }
}
