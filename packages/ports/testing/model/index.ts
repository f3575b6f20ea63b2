/**
 * @mm-gateway/ports/testing/model — what every store's own model-based and multi-process tests share
 * (fast-check, vitest): commands of every stream kind and their builders, the model of invariant 5 (the
 * pure domain over an in-memory log, every read model derived from the folds of its streams), the
 * property that runs random command sequences against stores and the model (`rebuildEqualsLive`), and
 * the two-writer test (the writers' rounds, starting them, the checks). A separate entry from
 * `./testing`, so the contract suites need no fast-check; a writer child imports only
 * `./testing/model/writer`, which needs neither.
 */
export * from "./commands.js"
export { LogModel } from "./log-model.js"
export { type ModelPorts, rebuildEqualsLive, storeUnderTest, type StoreUnderTest } from "./rebuild-equals-live.js"
export { assertTwoWritersLog, assertTwoWritersReadModels, expectedEvents, runTwoWriters, startWriter, type Writer } from "./two-writers.js"
export * from "./writer.js"
