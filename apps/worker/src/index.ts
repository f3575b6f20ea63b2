/**
 * @mm-gateway/worker — the worker, for running it in-process (tests, the end-to-end test, benchmarks).
 * The process entry point is `main.ts`.
 */
export { DEFAULT_DISPATCH_UNKNOWN_AFTER_MS, makeWorkerConfig, parseDuration, type WorkerConfig, workerConfig } from "./config.js"
export { startWorker, type WorkerHandle, workerLayer, type WorkerOptions, workerProgram } from "./worker.js"
