import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { ChannelShare } from "../src/index.js"
import { propertySettings } from "../testing/index.js"

/**
 * How the live workers share the channels out (the rules are numbered in
 * `src/dispatch/channel-share.ts`): what one worker decides from what the store says, then the rule
 * played by every worker, round after round, as workers come and go.
 */
const channels = (n: number) => Array.from({ length: n }, (_, i) => `10654035224${String(i).padStart(4, "0")}`)
const view = (
  instance: string,
  workers: ReadonlyArray<string>,
  all: ReadonlyArray<string>,
  held: Readonly<Record<string, ReadonlyArray<string>>> = {},
  leaving: ReadonlyArray<string> = []
): ChannelShare.ShareView => ({
  instance,
  workers,
  channels: all,
  holders: new Map(Object.entries(held).flatMap(([holder, cs]) => cs.map((c) => [c, holder] as const))),
  leaving: new Set(leaving)
})
const byPreference = (instance: string, cs: ReadonlyArray<string>) =>
  [...cs].sort((a, b) => ChannelShare.preference(instance, b) - ChannelShare.preference(instance, a))

describe("ChannelShare.decideShare", () => {
  const ten = channels(10)

  it("alone, a worker takes every channel, most preferred first; the shares are floor and ceil of channels per worker", () => {
    const share = ChannelShare.decideShare(view("a", [], ten))
    assert.deepStrictEqual(share, { lo: 10, hi: 10, take: byPreference("a", ten), release: [] })
    assert.deepStrictEqual([ChannelShare.decideShare(view("a", ["a", "b", "c"], ten)).lo, ChannelShare.decideShare(view("a", ["a", "b", "c"], ten)).hi], [3, 4])
  })

  it("workers reach for channels in different orders (rule 6)", () => {
    const orders = ["a#1-x", "b#2-y", "c#3-z"].map((w) => byPreference(w, ten)[0])
    assert.isAbove(new Set(orders).size, 1)
  })

  it("holding more than the full share, it gives up the surplus, the least preferred first (rule 1)", () => {
    const share = ChannelShare.decideShare(view("a", ["a", "b", "c"], ten, { a: ten.slice(0, 7) }))
    assert.deepStrictEqual(share.take, [])
    assert.deepStrictEqual(share.release, byPreference("a", ten.slice(0, 7)).reverse().slice(0, 3))
  })

  it("short of the least share, it takes free channels up to it; up to the full share only while nobody is short (rules 2, 3)", () => {
    // 10 channels, 3 workers: lo 3, hi 4. b is short (2), so a stops at lo.
    const held = { a: ten.slice(0, 1), b: ten.slice(1, 3) }
    const free = ten.slice(3)
    assert.deepStrictEqual(ChannelShare.decideShare(view("a", ["a", "b", "c"], ten, held)).take, byPreference("a", free).slice(0, 2))
    const heldLo = { a: ten.slice(0, 3), b: ten.slice(3, 6), c: ten.slice(6, 8) }
    assert.deepStrictEqual(ChannelShare.decideShare(view("a", ["a", "b", "c"], ten, heldLo)).take, [], "c is short of lo")
    const allLo = { a: ten.slice(0, 3), b: ten.slice(3, 6), c: ten.slice(6, 9) }
    assert.deepStrictEqual(ChannelShare.decideShare(view("a", ["a", "b", "c"], ten, allLo)).take, [ten[9]!])
  })

  it("never takes a channel another worker holds, live or not (rule 5)", () => {
    const share = ChannelShare.decideShare(view("a", ["a"], ten, { b: ten.slice(0, 4), "gone#1-q": ten.slice(4, 6) }))
    assert.deepStrictEqual(new Set(share.take), new Set(ten.slice(6)))
  })

  it("a new worker gets its share: workers at the full share make room, just as many as it needs, the first by identity (rule 4)", () => {
    // 4 channels, a and b hold 2 each, c joins: lo 1, hi 2. One channel is needed: a gives one up, b keeps its two.
    const four = channels(4)
    const held = { a: four.slice(0, 2), b: four.slice(2, 4) }
    assert.strictEqual(ChannelShare.decideShare(view("a", ["a", "b", "c"], four, held)).release.length, 1)
    assert.deepStrictEqual(ChannelShare.decideShare(view("b", ["a", "b", "c"], four, held)).release, [])
    assert.deepStrictEqual(ChannelShare.decideShare(view("c", ["a", "b", "c"], four, held)), { lo: 1, hi: 2, take: [], release: [] })
    // Once a free channel is there, nobody at the full share gives up another.
    const room = { a: four.slice(0, 1), b: four.slice(2, 4) }
    assert.deepStrictEqual(ChannelShare.decideShare(view("b", ["a", "b", "c"], four, room)).release, [])
    assert.deepStrictEqual(ChannelShare.decideShare(view("c", ["a", "b", "c"], four, room)).take, [four[1]!])
  })

  it("the channels it is giving up count neither as its own nor as free (rule 5)", () => {
    const share = ChannelShare.decideShare(view("a", ["a", "b"], ten, { a: ten.slice(0, 6), b: ten.slice(6, 10) }, ten.slice(0, 1)))
    assert.deepStrictEqual(share, { lo: 5, hi: 5, take: [], release: [] })
  })
})

describe("ChannelShare: every worker playing the rule, round after round", () => {
  /**
   * Workers come and go between phases; in each round every live worker, in a random order, looks at
   * the leases as they are then, releases what the rule says and tries to take what it says (a take
   * fails if another took the channel first). A worker that goes away keeps its leases for one round
   * (they lapse), as a killed process does.
   */
  const phase = fc.record({ join: fc.integer({ min: 0, max: 3 }), leave: fc.integer({ min: 0, max: 2 }), order: fc.array(fc.nat(), { maxLength: 8 }) })

  it("after the workers stop coming and going, every channel is held by one live worker, each holds its share, and a further round changes nothing", () =>
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.array(phase, { minLength: 1, maxLength: 6 }), (n, phases) => {
        const all = channels(n)
        const holders = new Map<string, string>()
        let live: Array<string> = []
        let next = 0
        /** One round; whether anything changed. */
        const round = (order: ReadonlyArray<number>) => {
          let changed = false
          const turn = [...live].sort((a, b) => (order[live.indexOf(a)] ?? 0) - (order[live.indexOf(b)] ?? 0))
          for (const worker of turn) {
            const share = ChannelShare.decideShare({ instance: worker, workers: live, channels: all, holders, leaving: new Set() })
            for (const channel of share.release) {
              assert.strictEqual(holders.get(channel), worker)
              holders.delete(channel)
              changed = true
            }
            for (const channel of share.take) {
              if (holders.has(channel)) continue
              holders.set(channel, worker)
              changed = true
            }
          }
          return changed
        }
        for (const p of phases) {
          const leaving = live.slice(0, Math.min(p.leave, live.length - (p.join > 0 ? 0 : 1)))
          live = live.filter((w) => !leaving.includes(w))
          for (let j = 0; j < p.join; j++) live.push(`w${next++}#1-${next}`)
          if (live.length === 0) live.push(`w${next++}#1-${next}`)
          round(p.order)
          // The leases of those that went away lapse.
          for (const [channel, holder] of holders) if (!live.includes(holder)) holders.delete(channel)
          round(p.order)
        }
        // No flapping: the rounds settle, and quickly.
        let rounds = 0
        while (round(phases[0]!.order)) {
          rounds++
          assert.isAtMost(rounds, 4, "the share keeps changing")
        }
        const lo = Math.floor(n / live.length)
        const hi = Math.ceil(n / live.length)
        assert.strictEqual(holders.size, n)
        for (const worker of live) {
          const count = [...holders.values()].filter((h) => h === worker).length
          assert.isTrue(count === lo || count === hi, `${worker} holds ${count}, not ${lo} or ${hi}`)
        }
        for (const holder of holders.values()) assert.include(live, holder)
      }),
      { ...propertySettings(300) }
    ))
})
