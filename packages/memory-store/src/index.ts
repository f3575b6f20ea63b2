/**
 * @mm-gateway/memory-store — every store port of mm-gateway in memory (the domain's `EventStore`,
 * `UnitOfWork` and `StatusMatching`, and every port of `@mm-gateway/ports`), with the read side folded
 * from the log by the domain's own `evolve` and views. For tests and for trying the gateway out; not
 * durable. The same contract suites run against it and against SQLite.
 */
export { layerMemoryStore, makeMemoryStore, type MemoryStore } from "./store.js"
