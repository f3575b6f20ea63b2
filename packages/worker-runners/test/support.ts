import { ProviderGateway } from "@mm-gateway/domain"
import {
  ChannelCredentials,
  deriveCredentialsKey,
  layerCredentials,
  layerWebhookDeliverer,
  LOOPBACK_HOSTS,
  makeProviderClientConfig,
  type ProviderClientConfig,
  providerGatewayLayer
} from "@mm-gateway/http-adapter"
import { SECRET_KEY, storeLayer, type TestStack, startTestStack } from "@mm-gateway/worker-test-stack"
import { type Context, Effect, Exit, Fiber, Layer, Logger, LogLevel, Redacted, Scope } from "effect"
import type { SandboxOptions } from "@mm-gateway/sandbox"
import { hostname } from "node:os"
import { layerWorker, newInstanceId, type ShutdownControl, WORKER_DEFAULTS, type WorkerRequirements, type WorkerSettings } from "../src/index.js"

/**
 * A worker in the test's process: the runners' settings, and what the app reads from `MMGW_*` besides
 * (apps/worker/README.md#configuration): the database, the secret key, the provider clients. The
 * runners' request timeout is the provider clients', as in the app.
 */
export type TestWorkerConfig = Omit<WorkerSettings, "requestTimeoutMs"> & {
  readonly database: string
  /** The PostgreSQL database to run on instead of the SQLite file (`MMGW_DATABASE_URL`), or `null`. */
  readonly postgresUrl: string | null
  readonly secretKey: string
  readonly provider: ProviderClientConfig
  /** Forwarding's deliverer: hosts allowed http and non-public addresses, one attempt's time limit. */
  readonly forward: { readonly allowHosts: ReadonlyArray<string>; readonly timeoutMs: number }
}

export interface WorkerOptions {
  /**
   * The store to run on, when several workers in this process share one (`startStack` gives its
   * workers one): otherwise the worker opens its own, as a process of its own does.
   */
  readonly store?: Context.Context<StoreServices>
  /** Wraps the provider port, e.g. to inject faults or count requests. */
  readonly decorateProvider?: (gateway: Context.Tag.Service<ProviderGateway.ProviderGateway>) => Context.Tag.Service<ProviderGateway.ProviderGateway>
  /** The least severe log level written (default: Info). */
  readonly logLevel?: LogLevel.LogLevel
}

export interface WorkerHandle {
  readonly workerId: string
  /** The identity it holds the lease under (what the `leases` row names). */
  readonly instance: string
  /**
   * Stops the worker: no new work, requests in flight get `graceMs` (default: the configured grace) to
   * be answered and recorded, then the lease is released and the databases are closed. `graceMs: 0`
   * cuts requests off as a crash would: their attempts stay in flight for the next start to settle.
   */
  readonly stop: (options?: { readonly graceMs?: number }) => Promise<void>
}

type StoreServices = Layer.Layer.Success<ReturnType<typeof storeLayer>>

/** The ports as the app provides them (apps/worker/src/main.ts): the store, the channels' credentials, the provider clients. */
const dependencies = (config: TestWorkerConfig, options: WorkerOptions): Layer.Layer<WorkerRequirements> => {
  const storage = options.store === undefined ? storeLayer(config.database, config.postgresUrl) : Layer.succeedContext(options.store)
  const key = deriveCredentialsKey(Redacted.make(config.secretKey))
  const credentials = Layer.project(
    layerCredentials(key),
    ChannelCredentials,
    ChannelCredentials,
    (c) => c
  )
  const base = providerGatewayLayer(config.provider)
  const decorate = options.decorateProvider
  const provider = decorate === undefined
    ? base
    : Layer.effect(ProviderGateway.ProviderGateway, Effect.map(ProviderGateway.ProviderGateway, decorate)).pipe(Layer.provide(base))
  const deliverer = layerWebhookDeliverer({ key, ...config.forward })
  return Layer.merge(deliverer, Layer.provideMerge(provider, Layer.provideMerge(credentials, storage)))
}

/** Runs a worker in this process, on the real store and provider clients. */
export const startWorker = (config: TestWorkerConfig, options: WorkerOptions = {}): WorkerHandle => {
  const control: ShutdownControl = { graceMs: config.shutdownGraceMs }
  const instance = newInstanceId(config.workerId)
  const fiber = Effect.runFork(
    Layer.launch(
      layerWorker({ ...config, requestTimeoutMs: config.provider.requestTimeoutMs }, { instance, control }).pipe(
        Layer.provide(dependencies(config, options))
      )
    ).pipe(
      Effect.annotateLogs("process", "worker"),
      Logger.withMinimumLogLevel(options.logLevel ?? LogLevel.Info)
    )
  )
  let stopped: Promise<void> | null = null
  return {
    workerId: config.workerId,
    instance,
    stop: (stopOptions = {}) => {
      if (stopped === null) {
        if (stopOptions.graceMs !== undefined) control.graceMs = stopOptions.graceMs
        stopped = Effect.runPromise(Effect.asVoid(Fiber.interrupt(fiber)))
      }
      return stopped
    }
  }
}

/**
 * A worker as the app configures it when no variable is set (apps/worker/README.md#configuration),
 * over `database`, the test stack's secret key and these provider clients.
 */
export const defaultWorkerConfig = (database: string, provider: Partial<ProviderClientConfig>, postgresUrl: string | null = null): TestWorkerConfig => {
  const clients = makeProviderClientConfig(provider)
  return {
    ...WORKER_DEFAULTS,
    database,
    postgresUrl,
    secretKey: SECRET_KEY,
    provider: clients,
    forward: { allowHosts: [...LOOPBACK_HOSTS], timeoutMs: 5_000 },
    workerId: hostname(),
    concurrency: clients.maxSocketsPerOrigin
  }
}

export interface Stack extends TestStack {
  readonly startWorker: (overrides?: Partial<TestWorkerConfig>, options?: WorkerOptions) => WorkerHandle
}

/**
 * The test stack (`startTestStack`, on SQLite or on the PostgreSQL database at `postgresUrl`) with
 * workers started in this process: fast timers so that windows and retries play out within a test,
 * the provider clients pointed at the sandbox (or the proxy in front of it); the workers are stopped
 * first when it closes.
 *
 * On PostgreSQL each worker has a pool of its own, as a process of its own does. On SQLite the
 * stack's workers share one connection to the file: better-sqlite3 waits for a lock synchronously, so
 * in one process a worker waiting for another's open unit of work would hold up the very thread that
 * would end it.
 */
export const startStack = async (
  options: { readonly sandbox?: SandboxOptions; readonly proxy?: boolean; readonly postgresUrl?: string | null } = {}
): Promise<Stack> => {
  const stack = await startTestStack(options)
  const storeScope = Effect.runSync(Scope.make())
  const store = stack.postgresUrl === null
    ? await Effect.runPromise(Layer.buildWithScope(storeLayer(stack.database, null), storeScope))
    : undefined
  const workers: Array<WorkerHandle> = []
  const defaults = defaultWorkerConfig(stack.database, {
    sandboxBaseUrl: stack.proxy?.url ?? stack.sandbox.url,
    requestTimeoutMs: 5_000,
    connectTimeoutMs: 1_000
  }, stack.postgresUrl)
  return {
    ...stack,
    startWorker: (overrides = {}, workerOptions = {}) => {
      const handle = startWorker(
        {
          ...defaults,
          pollIntervalMs: 20,
          timerIntervalMs: 100,
          dispatchUnknownAfterMs: 1_000,
          leaseTtlMs: 1_500,
          shutdownGraceMs: 5_000,
          reportIntervalMs: 3_600_000,
          ...overrides
        },
        { logLevel: LogLevel.Error, ...(store === undefined ? {} : { store }), ...workerOptions }
      )
      workers.push(handle)
      return handle
    },
    close: async () => {
      await Promise.all(workers.map((w) => w.stop()))
      await Effect.runPromise(Scope.close(storeScope, Exit.void))
      await stack.close()
    }
  }
}

/** A provider port that counts what this worker sent, for telling workers apart. */
export const counting = () => {
  const counter = { sent: 0 }
  const decorateProvider: NonNullable<WorkerOptions["decorateProvider"]> = (gateway) => ({
    ...gateway,
    send: (request) => Effect.zipRight(Effect.sync(() => counter.sent++), gateway.send(request))
  })
  return { counter, decorateProvider }
}
