import { Effect } from "effect"
import fc from "fast-check"
import { assert, describe, it } from "vitest"
import { makeProviderClientConfig } from "@mm-gateway/http-adapter"
import { eventually, events, message, ok, quiet, registerChannel, send } from "@mm-gateway/worker-test-stack"
import { type Stack, startStack, type WorkerOptions } from "./support.js"
import { propertySettings } from "@mm-gateway/domain/testing"

const SETTINGS = propertySettings(5)

/**
 * Invariant 7 (docs/invariants.md#invariant-7) — at most once, under injected crashes and provider faults.
 *
 * A run sends a random mix of the sandbox's scripted numbers through the real api and lets workers
 * dispatch them to the real sandbox over HTTP while a random schedule of faults plays out:
 *
 * - the sandbox's own faults, by number: 500 once (0500), 130429 twice (0429), a connection dropped
 *   after the request was read (0999), a synchronous 400 (0002), silence (0000), …, with a random
 *   response latency so that requests are in flight when the next fault strikes;
 * - timeouts after the request was sent: in some runs the worker waits less for an answer than the
 *   sandbox may take to give it;
 * - a provider outage: a proxy in front of the sandbox stops listening (connections refused) and cuts
 *   every connection through it (requests in flight die mid-way);
 * - a worker crash: the worker is stopped with no grace, cutting its requests off wherever they are
 *   (before the socket write, after it, while the answer is being read), then a new worker starts over
 *   the same database file. In-process, but what the next worker finds is what a SIGKILL leaves: the
 *   committed events (a `DispatchStarted` with no outcome), the pending inbox rows, the sandbox's
 *   record of what arrived. Only the lease differs — released here, left to expire after a kill — and
 *   that only delays the next start.
 *
 * Afterwards an operator settles every `dispatch_unknown` message through the resolution endpoint,
 * checking with the provider first (the sandbox's count): `give_up` when it has the message, else
 * `resend`. A resend can itself end unknown (a 250 ms request timeout against up to 300 ms of latency,
 * more on a loaded machine), so after a few rounds the operator gives up on what is still unknown.
 * Then, for every message:
 *
 * 1. the sandbox accepted it at most once;
 * 2. no attempt started after an unknown outcome, except after an operator's `resend`; and every
 *    request that reached the provider port was preceded by its own recorded start (so nothing was
 *    sent twice for one start, nor after an unknown outcome);
 * 3. it ended in its script's final state (`failed` when the operator gave up), with no attempt pending.
 *
 * Runs: `FC_NUM_RUNS` (default 5; each run takes a few seconds), seed: `FC_SEED`. A failure prints
 * the seed and the counterexample; runs are not shrunk (each is a few seconds of real I/O).
 */


const SCRIPTS = ["0000", "0001", "0002", "0003", "0004", "0005", "0429", "0500", "0999", "1234"] as const
type Script = typeof SCRIPTS[number]

const FINAL: Record<Script, string> = {
  "0000": "submitted",
  "0001": "failed",
  "0002": "failed",
  "0003": "delivered",
  "0004": "read",
  "0005": "read",
  "0429": "read",
  "0500": "read",
  "0999": "read",
  "1234": "read"
}

type Fault =
  | { readonly kind: "crash"; readonly afterMs: number }
  | { readonly kind: "outage"; readonly afterMs: number; readonly forMs: number }

const fault: fc.Arbitrary<Fault> = fc.oneof(
  fc.record({ kind: fc.constant("crash" as const), afterMs: fc.integer({ min: 0, max: 400 }) }),
  fc.record({ kind: fc.constant("outage" as const), afterMs: fc.integer({ min: 0, max: 400 }), forMs: fc.integer({ min: 50, max: 1_200 }) })
)

const scenario = fc.record({
  scripts: fc.array(fc.constantFrom(...SCRIPTS), { minLength: 3, maxLength: 8 }),
  faults: fc.array(fault, { minLength: 1, maxLength: 3 }),
  latencyMaxMs: fc.integer({ min: 0, max: 300 }),
  requestTimeoutMs: fc.constantFrom(5_000, 250),
  sandboxSeed: fc.integer({ min: 0, max: 2 ** 31 - 1 })
})

type Scenario = typeof scenario extends fc.Arbitrary<infer A> ? A : never

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The provider port as the workers call it: every request, by message, with the time it was handed over. */
const recordingProvider = () => {
  const sends = new Map<string, Array<number>>()
  const decorateProvider: NonNullable<WorkerOptions["decorateProvider"]> = (gateway) => ({
    ...gateway,
    send: (request) =>
      Effect.zipRight(
        Effect.sync(() => {
          const id = String(request.body["biz_opaque_callback_data"])
          sends.set(id, [...(sends.get(id) ?? []), Date.now()])
        }),
        gateway.send(request)
      )
  })
  return { sends, decorateProvider }
}

const SETTLED = new Set(["submitted", "sent", "delivered", "read", "failed", "expired", "dispatch_unknown"])

/** Every message is out of the dispatcher's hands and every webhook has been applied. */
const settle = (stack: Stack, ids: ReadonlyArray<string>) =>
  eventually("every message settled", async () => {
    if (!(await quiet(stack))) return false
    for (const id of ids) if (!SETTLED.has((await message(stack.api, id)).status)) return false
    return quiet(stack)
  }, 90_000)

const run = async (s: Scenario) => {
  const stack = await startStack({ proxy: true, sandbox: { seed: s.sandboxSeed, responseLatencyMs: { min: 0, max: s.latencyMaxMs } } })
  const provider = recordingProvider()
  let generation = 0
  const startWorker = () =>
    stack.startWorker(
      {
        workerId: `worker-${generation++}`,
        dispatchUnknownAfterMs: 800,
        provider: makeProviderClientConfig({ sandboxBaseUrl: stack.proxy!.url, requestTimeoutMs: s.requestTimeoutMs, connectTimeoutMs: 1_000 })
      },
      { decorateProvider: provider.decorateProvider }
    )
  try {
    await registerChannel(stack.api)
    let worker = startWorker()
    const ids: Array<string> = []
    const scriptOf = new Map<string, Script>()
    for (const [i, script] of s.scripts.entries()) {
      const id = await send(stack.api, `4915${String(i).padStart(3, "0")}${script}`)
      ids.push(id)
      scriptOf.set(id, script)
    }
    for (const f of s.faults) {
      await sleep(f.afterMs)
      if (f.kind === "crash") {
        await worker.stop({ graceMs: 0 })
        worker = startWorker()
      } else {
        await stack.proxy!.down()
        await sleep(f.forMs)
        await stack.proxy!.up()
      }
    }
    await settle(stack, ids)

    // The operator settles what nobody could: with the provider's word on whether it has the message.
    const gaveUp = new Set<string>()
    const RESEND_ROUNDS = 3
    for (let round = 0; round <= RESEND_ROUNDS; round++) {
      const unknown: Array<string> = []
      for (const id of ids) if ((await message(stack.api, id)).status === "dispatch_unknown") unknown.push(id)
      if (unknown.length === 0) break
      for (const id of unknown) {
        const accepted = stack.sandbox.stats().byCallbackData[id]?.accepted ?? 0
        const action = accepted > 0 || round === RESEND_ROUNDS ? "give_up" : "resend"
        if (action === "give_up") gaveUp.add(id)
        ok(await stack.api.request("POST", `/v1/messages/${id}/resolution`, { action }), `resolve ${id}`)
      }
      await settle(stack, ids)
    }

    const stats = stack.sandbox.stats()
    for (const id of ids) {
      const label = `${id} (${scriptOf.get(id)})`
      const counted = stats.byCallbackData[id] ?? { requests: 0, accepted: 0 }
      // 1. Accepted at most once.
      assert.isAtMost(counted.accepted, 1, `${label} accepted more than once`)

      // 2. No start after an unknown outcome but through an operator's resend; every request had its own start before it.
      const history = await events(stack.api, id)
      let unknownSince: string | null = null
      const starts: Array<number> = []
      for (const e of history) {
        if (e.type === "DispatchOutcomeUnknown" || e.type === "DispatchMarkedUnknown") unknownSince ??= e.type
        if (e.type === "DispatchResolved" && e.data.action === "resend") unknownSince = null
        if (e.type === "DispatchStarted") {
          assert.isNull(unknownSince, `${label}: attempt ${e.data.attempt} started after ${unknownSince}`)
          starts.push(Date.parse((e as unknown as { recordedAt: string }).recordedAt))
        }
      }
      const sent = provider.sends.get(id) ?? []
      assert.isAtMost(sent.length, starts.length, `${label}: more requests than recorded starts`)
      sent.forEach((at, i) => assert.isAtMost(starts[i]!, at, `${label}: request ${i + 1} before its start`))
      assert.isAtMost(counted.requests, sent.length, `${label}: the sandbox saw requests the workers did not send`)

      // 3. Settled in the script's final state.
      const m = await message(stack.api, id)
      const expected = gaveUp.has(id) ? "failed" : FINAL[scriptOf.get(id)!]
      assert.strictEqual(m.status, expected, `${label} ended ${m.status}`)
    }
  } finally {
    await stack.close()
  }
}

describe("invariant 7: at most once under crashes and provider faults (real sandbox over HTTP)", () => {
  it(
    "the provider accepts each message at most once, nothing is sent after an unknown outcome, and every message settles",
    () =>
      fc.assert(fc.asyncProperty(scenario, run), { ...SETTINGS, endOnFailure: true }),
    SETTINGS.numRuns * 120_000
  )
})
