// The readers the fuzz test drives per kind of input file (src/core/inputs.ts INPUT_KINDS): each
// takes the path the product takes (a file, or the folder that holds it) and reads it as the
// product does. Run inside the fuzz worker (worker.ts), so a hang or an out-of-memory stays there.
// GATE_READERS is a Record over InputKind: a kind added to the gate without a reader here does
// not compile, so the fuzz covers every kind of file MechEdit reads.

import * as path from 'node:path';
import type { InputKind } from '../../../src/core/inputs';
import { readInputJson } from '../../../src/core/inputs';
import { openCheckpoint } from '../../../src/core/checkpoint/checkpoint';
import { planModel } from '../../../src/core/models/model';
import { TextTokenizer } from '../../../src/core/tokenizer';
import { readEdit } from '../../../src/core/edits/editFile';
import { readNpy } from '../../../src/core/edits/importVectors';
import { readRequests } from '../../../src/core/edits/requests';
import { readKnowledgeGraph } from '../../../src/core/edits/knowledgeGraph';
import { readKrdFacts } from '../../../src/core/edits/krdFacts';
import { corpusDocuments } from '../../../src/core/edits/stats';
import { readUnlearnMaterial } from '../../../src/core/train/unlearnData';
import { readEvokeMain } from '../../../src/core/diagnostics/evokeData';
import { readFineKed } from '../../../src/core/diagnostics/fineKedData';
import { readProbeCases } from '../../../src/core/diagnostics/probesData';
import { readZsre } from '../../../src/core/diagnostics/zsreData';
import { readCounterfactuals } from '../../../src/core/diagnostics/sequentialData';
import { mergedIssues, openRun, readRunConfig, type RunConfig } from '../../../src/core/diagnostics/runner';

/**
 * One reader: `file` is the name the variant is written to inside its folder; `takes` says whether
 * the reader is given that file or the folder (a checkpoint, a run folder).
 */
export interface GateReader {
  name: string;
  file: string;
  takes: 'file' | 'dir';
  read(p: string): void;
}

/** The run.json the fuzz's run folders hold (the 'run' kind's cases.jsonl is read against it). */
export const FUZZ_RUN: RunConfig = { tool: 'fuzz', version: 1, modelFingerprint: '0123456789abcdef', modelPath: '/nowhere', method: 'none', data: [{ file: '/nowhere/data.json', sha256: '0'.repeat(64) }] };

export const GATE_READERS: Record<InputKind, GateReader[]> = {
  data: [
    { name: 'requests', file: 'requests.jsonl', takes: 'file', read: (p) => void readRequests(p) },
    { name: 'graph', file: 'graph.jsonl', takes: 'file', read: (p) => void readKnowledgeGraph(p) },
    { name: 'facts', file: 'facts.jsonl', takes: 'file', read: (p) => void readKrdFacts(p) },
    { name: 'forget', file: 'forget.jsonl', takes: 'file', read: (p) => void readUnlearnMaterial({ forget: p, retain: p }) },
    { name: 'evoke', file: 'evoke.json', takes: 'file', read: (p) => void readEvokeMain(p) },
    { name: 'fine-ked', file: 'fine_ked.json', takes: 'file', read: (p) => void readFineKed(p) },
    { name: 'probes', file: 'probes.json', takes: 'file', read: (p) => void readProbeCases(p) },
    { name: 'zsre', file: 'zsre.json', takes: 'file', read: (p) => void readZsre(p) },
    { name: 'counterfactuals', file: 'counterfactuals.json', takes: 'file', read: (p) => void readCounterfactuals(p) },
  ],
  config: [
    { name: 'config.json', file: 'config.json', takes: 'dir', read: (p) => void planModel(openCheckpoint(p)) },
    { name: 'run.json', file: 'run.json', takes: 'dir', read: (p) => void readRunConfig(p) },
  ],
  tokenizer: [
    {
      name: 'tokenizer.json', file: 'tokenizer.json', takes: 'dir', read: (p) => {
        const tok = TextTokenizer.fromCheckpoint(openCheckpoint(p));
        tok.decode(tok.encode('The cat sat on the mat. Zürich 東京'));
      },
    },
  ],
  edit: [{ name: 'edit .json', file: 'fuzz.json', takes: 'file', read: (p) => void readEdit(p) }],
  vectors: [
    { name: '.npy', file: 'fuzz.npy', takes: 'file', read: (p) => void readNpy(p) },
    { name: 'edit sidecar', file: 'fuzz.safetensors', takes: 'dir', read: (p) => void readEdit(path.join(p, 'fuzz.json')) },
  ],
  weights: [{ name: 'model.safetensors', file: 'model.safetensors', takes: 'dir', read: (p) => void planModel(openCheckpoint(p)) }],
  text: [{ name: 'corpus', file: 'corpus.txt', takes: 'file', read: (p) => void corpusDocuments([p]) }],
  run: [
    { name: 'cases.jsonl', file: 'cases.jsonl', takes: 'dir', read: (p) => void openRun(p, FUZZ_RUN, true) },
    { name: 'issues.json', file: 'issues.json', takes: 'dir', read: (p) => void mergedIssues([p]) },
  ],
  cache: [{ name: 'cache file', file: 'cache.json', takes: 'file', read: (p) => void readInputJson(p, 'cache') }],
};

/** A reader by "kind/name" (the worker's target). */
export function gateReader(id: string): GateReader {
  const [kind, ...rest] = id.split('/');
  const r = GATE_READERS[kind as InputKind]?.find((x) => x.name === rest.join('/'));
  if (!r) throw new Error(`fuzz: no reader ${id}`);
  return r;
}
