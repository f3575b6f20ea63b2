/**
 * mulberry32: tiny, fast and good enough for test outcomes. Every random choice the sandbox makes goes
 * through one instance seeded from the config, so a run with the same seed and the same request order
 * makes the same choices.
 */
export interface Prng {
  /** uniform in [0, 1) */
  readonly next: () => number
  /** integer in [min, max] (both inclusive) */
  readonly int: (min: number, max: number) => number
  /** `length` characters from `alphabet` */
  readonly string: (length: number, alphabet?: string) => string
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

export const mulberry32 = (seed: number): Prng => {
  let a = seed >>> 0
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (min: number, max: number): number =>
    max <= min ? min : min + Math.floor(next() * (max - min + 1))
  const string = (length: number, alphabet: string = BASE62): string => {
    let out = ""
    for (let i = 0; i < length; i++) out += alphabet.charAt(Math.floor(next() * alphabet.length))
    return out
  }
  return { next, int, string }
}
