/** Nest injection tokens for values that are not classes. */
export const API_SETTINGS = Symbol('ApiSettings');
export const TEMPORAL_SETTINGS = Symbol('TemporalSettings');
export const TEMPORAL_CLIENT = Symbol('TemporalClient');
export const CODEC = Symbol('PayloadCodec');
