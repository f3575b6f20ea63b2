import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Option, Redacted } from "effect"
import { DEFAULT_POOL_SIZE, describeDatabaseUrl, parseDatabaseUrl, postgresConfig, postgresConfigWhenSet } from "../src/config.js"

const parsed = (text: string) => {
  const result = parseDatabaseUrl(text)
  if (Either.isLeft(result)) throw new Error(`expected ${text} to parse: ${result.left.message}`)
  const { password, ...rest } = result.right
  return { ...rest, password: password === null ? null : Redacted.value(password) }
}

const refusal = (text: string): string => {
  const result = parseDatabaseUrl(text)
  if (Either.isRight(result)) throw new Error(`expected ${text} to be refused`)
  return result.left.message
}

describe("the database URL", () => {
  it("gives host, port, database, user and password, percent-decoded", () => {
    assert.deepStrictEqual(parsed("postgres://gateway:p%40ss%3Aw%2Frd@db.example.com:6432/mm%20gateway"), {
      host: "db.example.com",
      port: 6432,
      database: "mm gateway",
      user: "gateway",
      password: "p@ss:w/rd",
      ssl: false,
      applicationName: null
    })
  })

  it("defaults the port to 5432 and the password to none, and takes postgresql:// and IPv6 hosts too", () => {
    const url = parsed("postgresql://gateway@[::1]/mm")
    assert.deepStrictEqual([url.host, url.port, url.password], ["::1", 5432, null])
  })

  it("understands sslmode as libpq does, and application_name", () => {
    const ssl = (mode: string) => parsed(`postgres://u@h/d?sslmode=${mode}`).ssl
    assert.deepStrictEqual(
      [ssl("disable"), ssl("require"), ssl("verify-ca"), ssl("verify-full")],
      [
        false,
        { rejectUnauthorized: false, checkHostname: false },
        { rejectUnauthorized: true, checkHostname: false },
        { rejectUnauthorized: true, checkHostname: true }
      ]
    )
    assert.strictEqual(parsed("postgres://u@h/d?application_name=mmgw-api").applicationName, "mmgw-api")
  })

  const refused: ReadonlyArray<[string, string, string]> = [
    ["another scheme", "mysql://u:secret@h/d", "scheme is mysql"],
    ["no host", "postgres:///d", "no host"],
    ["no user", "postgres://h/d", "no user"],
    ["no database", "postgres://u:secret@h:5432", "no database"],
    ["a path beyond the database", "postgres://u@h/d/e", "slash"],
    ["a parameter it does not understand", "postgres://u:secret@h/d?host=/var/run", "the parameter host"],
    ["an sslmode libpq tries and falls back from", "postgres://u@h/d?sslmode=prefer", "sslmode prefer"],
    ["no URL at all", "db.example.com:5432", "not a URL"],
    ["a bad escape in the password", "postgres://u:%zz@h/d", "password is not valid"]
  ]
  for (const [label, text, reason] of refused) {
    it(`is refused with ${label}, saying why and never showing the password`, () => {
      const message = refusal(text)
      assert.include(message, reason)
      assert.notInclude(message, "secret")
    })
  }

  it("is described without its password", () => {
    const result = parseDatabaseUrl("postgres://gateway:secret@[::1]:6432/mm")
    assert.isTrue(Either.isRight(result))
    if (Either.isRight(result)) assert.strictEqual(describeDatabaseUrl(result.right), "postgres://gateway@[::1]:6432/mm")
  })
})

describe("postgresConfig", () => {
  const load = (env: Record<string, string>) =>
    Effect.either(Effect.withConfigProvider(postgresConfig, ConfigProvider.fromMap(new Map(Object.entries(env)))))

  it.effect("reads MMGW_DATABASE_URL and MMGW_DATABASE_POOL_SIZE", () =>
    Effect.gen(function*() {
      const config = yield* load({ MMGW_DATABASE_URL: "postgres://u:pw@h/d", MMGW_DATABASE_POOL_SIZE: "25" })
      assert.isTrue(Either.isRight(config))
      if (Either.isRight(config)) {
        assert.deepStrictEqual([config.right.url.host, config.right.url.database, config.right.poolSize], ["h", "d", 25])
      }
      const defaults = yield* load({ MMGW_DATABASE_URL: "postgres://u@h/d" })
      assert.deepStrictEqual(Either.map(defaults, (c) => c.poolSize), Either.right(DEFAULT_POOL_SIZE))
    }))

  it.effect("refuses a missing or unusable URL and a pool size that is not a positive integer", () =>
    Effect.gen(function*() {
      const failures = [
        yield* load({}),
        yield* load({ MMGW_DATABASE_URL: "mysql://u:pw@h/d" }),
        yield* load({ MMGW_DATABASE_URL: "postgres://u@h/d", MMGW_DATABASE_POOL_SIZE: "0" }),
        yield* load({ MMGW_DATABASE_URL: "postgres://u@h/d", MMGW_DATABASE_POOL_SIZE: "many" })
      ]
      assert.deepStrictEqual(failures.map(Either.isLeft), [true, true, true, true])
      const messages = failures.map((f) => (Either.isLeft(f) ? String(f.left) : ""))
      assert.include(messages[0], "MMGW_DATABASE_URL")
      assert.include(messages[1], "scheme is mysql")
      assert.include(messages[2], "MMGW_DATABASE_POOL_SIZE")
      assert.include(messages[3], "MMGW_DATABASE_POOL_SIZE")
    }))
})

describe("postgresConfigWhenSet", () => {
  const load = (env: Record<string, string>) =>
    Effect.either(Effect.withConfigProvider(postgresConfigWhenSet, ConfigProvider.fromMap(new Map(Object.entries(env)))))

  it.effect("is none without MMGW_DATABASE_URL or with an empty one, whatever the pool size says", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* load({}), Either.right(Option.none()))
      assert.deepStrictEqual(yield* load({ MMGW_DATABASE_URL: " ", MMGW_DATABASE_POOL_SIZE: "3" }), Either.right(Option.none()))
    }))

  it.effect("is the settings when the URL is set, and refuses what postgresConfig refuses", () =>
    Effect.gen(function*() {
      const set = yield* load({ MMGW_DATABASE_URL: "postgres://u:pw@h/d", MMGW_DATABASE_POOL_SIZE: "4" })
      assert.deepStrictEqual(Either.map(set, Option.map((c) => [c.url.host, c.poolSize])), Either.right(Option.some(["h", 4])))
      const refused = yield* load({ MMGW_DATABASE_URL: "mysql://u:pw@h/d" })
      assert.isTrue(Either.isLeft(refused))
      assert.include(Either.isLeft(refused) ? String(refused.left) : "", "scheme is mysql")
    }))
})
