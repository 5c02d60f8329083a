// (Pure rules shared by the engine and the extension.) Whether a computed edit goes on the stack. The edit file is written in every case; the modes:
//   'always'        apply it whatever its outcome and health;
//   'never'         only write it;
//   'if-succeeded'  apply it unless its outcome says it did not take (outcome.ts);
//   'if-healthy'    as 'if-succeeded', and also not when its health has a warning (health.ts's
//                   THRESHOLDS: ‖ΔW‖/‖W‖, kᵀC⁻¹k / d_mlp, KL on neutral prompts).
// The user-facing setting mechedit.applyPolicy maps onto these (healthy → if-healthy).

export const APPLY_MODES = ['if-succeeded', 'if-healthy', 'always', 'never'] as const;
export type ApplyMode = (typeof APPLY_MODES)[number];

export const APPLY_POLICIES = ['healthy', 'always', 'never'] as const;
export type ApplyPolicy = (typeof APPLY_POLICIES)[number];

/** The engine's apply mode for the setting mechedit.applyPolicy (anything else: the default, 'healthy'). */
export function applyModeOf(policy: unknown): ApplyMode {
  if (policy === 'always') return 'always';
  if (policy === 'never') return 'never';
  return 'if-healthy';
}

export interface ApplyDecision {
  apply: boolean;
  /** Why it is not applied (absent when applied): the first thing the user reads. */
  reason?: string;
}

/** Decides by `mode` from the edit's outcome (absent: not a fact edit, counts as taken) and health warnings. */
export function decideApply(mode: ApplyMode, outcome: { succeeded: boolean; reason?: string } | undefined, warnings: readonly string[]): ApplyDecision {
  if (mode === 'always') return { apply: true };
  if (mode === 'never') return { apply: false, reason: 'not applied: the apply policy is "never"' };
  if (outcome && !outcome.succeeded) return { apply: false, reason: `not applied: the edit did not take${outcome.reason ? ` (${outcome.reason})` : ''}` };
  if (mode === 'if-healthy' && warnings.length > 0) return { apply: false, reason: `not applied: unhealthy edit (${warnings.join('; ')})` };
  return { apply: true };
}
