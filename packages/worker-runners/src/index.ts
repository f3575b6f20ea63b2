/**
 * @mm-gateway/worker-runners — what the worker runs under its database lease (docs/worker.md): the
 * dispatcher, the webhook-inbox processor and the timers, over ports only (the domain's and
 * `@mm-gateway/ports`'). The app wires it: `apps/worker/src/main.ts` chooses the store and the
 * provider clients and launches `layerWorker`.
 */
export { deliveryIdOf, retryDelayMs } from "./forwarder.js"
export { newInstanceId } from "./lease.js"
export { layerWorker, type ShutdownControl, WORKER_DEFAULTS, type WorkerRequirements, type WorkerSettings } from "./worker.js"
