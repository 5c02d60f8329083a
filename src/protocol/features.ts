// Sparse-autoencoder features as they travel from the engine to the Features view
// (src/core/sae/, webview/features/).

import type { PanelProtocol } from './webview';

/** The top features at one token of a prompt. */
export interface TokenFeatures {
  token: string;
  features: { feature: number; activation: number }[];
}

export interface FeatureTokensResult {
  hook: string;
  dSae: number;
  architecture: string;
  tokens: TokenFeatures[];
}

export interface FeatureContext {
  tokens: string[];
  /** The feature's activation at each token (0 where it does not fire). */
  acts: number[];
  max: number;
}

/** A feature's page: contexts, logit read, histogram, cosines (core/analysis/featurePage.ts). */
export interface FeaturePage {
  feature: number;
  hook: string;
  /** Share of the scanned tokens where it fires. */
  frequency: number;
  scannedTokens: number;
  contexts: FeatureContext[];
  logits: { top: { token: string; value: number }[]; bottom: { token: string; value: number }[] } | null;
  histogram: { edges: number[]; counts: number[] };
  concepts: { name: string; layer: number; cos: number }[];
  edits: { id: string; label: string; layer: number; module: string; cos: number }[];
}

export interface FeaturesPanelState {
  /** The SAE folder (SAELens format). */
  sae: string;
  prompt: string;
  /** The feature whose page is shown. */
  feature?: number;
  /** Text files scanned for the page's contexts (default: the model's corpus.txt). */
  corpus?: string[];
  /** A concept to compare the feature with: prompts with it and without it, one per line. */
  conceptName?: string;
  conceptPositive?: string;
  conceptNegative?: string;
}

/** A concept as two prompt sets (its direction: the difference of means at the hook's layer). */
export interface ConceptPrompts {
  name: string;
  positive: string[];
  negative: string[];
}

export interface FeaturesContext {
  model?: { path: string; layers: number; architecture: string };
  enabledEdits: number;
}

export interface FeaturesPanel extends PanelProtocol {
  requests: {
    tokens: { params: { sae: string; prompt: string; top?: number }; result: FeatureTokensResult };
    feature: { params: { sae: string; feature: number; corpus?: string[]; concepts?: ConceptPrompts[] }; result: FeaturePage };
    /** Ablate feature: the edit file written to the workspace's edits folder and applied. */
    ablate: { params: { sae: string; feature: number }; result: { applied: boolean; label?: string; file?: string } };
    /** Opens a folder picker for the SAE. */
    pick: { params: Record<string, never>; result: { sae?: string } };
  };
  notifications: {
    context: FeaturesContext;
    /** Sets the SAE and prompt and runs (commands and tests); with `feature`, opens its page too. */
    run: Partial<FeaturesPanelState> & { sae: string; prompt: string };
  };
}
