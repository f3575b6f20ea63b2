import { ConfigProvider, Effect, Either, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { apiConfig, DEVELOPMENT_SECRETS } from "../../src/api/config.js"

/** The api's configuration from the `MMGW_*` variables (README.md#configuration). */

const load = (env: Record<string, string>) =>
  Effect.runSync(Effect.either(Effect.withConfigProvider(apiConfig, ConfigProvider.fromMap(new Map(Object.entries(env))))))

const PRODUCTION_SECRETS = {
  MMGW_ADMIN_TOKEN: "prod-admin",
  MMGW_SECRET_KEY: "prod-key",
  MMGW_META_APP_SECRET: "prod-app-secret",
  MMGW_META_VERIFY_TOKEN: "prod-verify",
  MMGW_360DIALOG_WEBHOOK_SECRET: "prod-360"
}

describe("apiConfig", () => {
  it("has the documented defaults (README.md#configuration) in development, with development secrets it reports", () => {
    const config = Either.getOrThrow(load({}))
    expect(config).toMatchObject({
      mode: "development",
      host: "127.0.0.1",
      port: 8080,
      database: "./data/mm-gateway.sqlite",
      durability: "normal",
      dialog360Header: "x-mmgw-webhook-secret",
      onboardingLink: "https://hub.360dialog.com/mmlite-tos"
    })
    expect(Redacted.value(config.adminToken)).toBe(DEVELOPMENT_SECRETS.MMGW_ADMIN_TOKEN)
    expect([...config.defaultsUsed].sort()).toEqual(Object.keys(DEVELOPMENT_SECRETS).sort())
  })

  it("reads every variable it knows", () => {
    const config = Either.getOrThrow(load({
      ...PRODUCTION_SECRETS,
      MMGW_MODE: "production",
      MMGW_HOST: "0.0.0.0",
      MMGW_API_PORT: "9000",
      MMGW_DATABASE: "/var/lib/mmgw/db.sqlite",
      MMGW_DURABILITY: "full",
      MMGW_360DIALOG_WEBHOOK_HEADER: "x-my-secret",
      MMGW_360DIALOG_PLATFORM_SECRET: "platform",
      MMGW_ONBOARDING_LINK: "https://example.test/tos"
    }))
    expect(config).toMatchObject({
      mode: "production",
      host: "0.0.0.0",
      port: 9000,
      database: "/var/lib/mmgw/db.sqlite",
      durability: "full",
      dialog360Header: "x-my-secret",
      onboardingLink: "https://example.test/tos",
      defaultsUsed: []
    })
    expect(Redacted.value(config.metaAppSecret)).toBe("prod-app-secret")
    expect(config.dialog360PlatformSecret && Redacted.value(config.dialog360PlatformSecret)).toBe("platform")
  })

  for (const missing of Object.keys(PRODUCTION_SECRETS)) {
    it(`production mode refuses to start without ${missing}, and says so`, () => {
      const env: Record<string, string> = { ...PRODUCTION_SECRETS, MMGW_MODE: "production" }
      delete env[missing]
      const result = load(env)
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result)) expect(String(result.left)).toContain(missing)
    })
  }

  it("production mode treats an empty secret as missing", () => {
    const result = load({ ...PRODUCTION_SECRETS, MMGW_MODE: "production", MMGW_ADMIN_TOKEN: "" })
    expect(Either.isLeft(result) && String(result.left)).toContain("MMGW_ADMIN_TOKEN")
  })

  it("production mode accepts the 360dialog platform secret instead of the shared header secret", () => {
    const env: Record<string, string> = { ...PRODUCTION_SECRETS, MMGW_MODE: "production", MMGW_360DIALOG_PLATFORM_SECRET: "platform" }
    delete env["MMGW_360DIALOG_WEBHOOK_SECRET"]
    const config = Either.getOrThrow(load(env))
    expect(config.dialog360Secret).toBeNull()
  })

  it("a secret's value never appears in the configuration's printed form", () => {
    const config = Either.getOrThrow(load({ ...PRODUCTION_SECRETS, MMGW_MODE: "production" }))
    const printed = `${JSON.stringify(config)} ${String(config.adminToken)}`
    for (const value of Object.values(PRODUCTION_SECRETS)) expect(printed).not.toContain(value)
  })

  for (const [name, value] of [["MMGW_API_PORT", "70000"], ["MMGW_API_PORT", "eighty"], ["MMGW_MODE", "staging"], ["MMGW_DURABILITY", "maximal"]] as const) {
    it(`refuses ${name}=${value}, naming the variable`, () => {
      const result = load({ [name]: value })
      expect(Either.isLeft(result) && String(result.left)).toContain(name)
    })
  }
})
