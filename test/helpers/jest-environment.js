// Jest runs tests in a separate global realm. Node's fetch (undici) keeps its global dispatcher on
// the outer realm, so SDKs that look it up on globalThis (@google/genai) cannot find it inside a
// test. Share the outer realm's dispatcher with the test realm.
const { TestEnvironment } = require('jest-environment-node');

const UNDICI_DISPATCHER = Symbol.for('undici.globalDispatcher.1');

class ChorusTestEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    new Headers(); // makes Node initialise undici and its dispatcher lazily
    if (globalThis[UNDICI_DISPATCHER]) this.global[UNDICI_DISPATCHER] = globalThis[UNDICI_DISPATCHER];
  }
}

module.exports = ChorusTestEnvironment;
