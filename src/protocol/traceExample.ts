// The Causal Tracing panel's default example, also offered first by *MechEdit: Trace a Fact…*: a
// fact of the bundled model's world (models/default), so the guided path starts from one it knows.
export const TRACE_EXAMPLE = { prompt: 'Baekhyndvaes Drondraes was born in', subject: 'Baekhyndvaes Drondraes' } as const;
