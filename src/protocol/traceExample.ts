// The Causal Tracing panel's default example, also offered first by *MechEdit: Trace a Fact…*: a
// fact of the bundled model's world (models/default), so the guided path starts from one it knows.
// Chosen by a rule, not by whether it edits well: world.json's first fact (its first person's
// birthplace) on the relation's first template. TRACE_EXAMPLE_TARGET is that fact's counterfactual
// target in models/default/eval/counterfactuals.json (the guided path's edit, docs/results/guided-path.md).
export const TRACE_EXAMPLE = { prompt: 'Baekhyndvaes Drondraes was born in', subject: 'Baekhyndvaes Drondraes' } as const;
export const TRACE_EXAMPLE_TARGET = 'Ciamdor';
