/**
 * The connection settings: a `postgres://` URL (`MMGW_DATABASE_URL`) and a pool size
 * (`MMGW_DATABASE_POOL_SIZE`), checked before anything connects. See the package README, "Connection".
 */
import { Config, ConfigError, Data, Effect, Either, Option, Redacted } from "effect"

export const DEFAULT_POOL_SIZE = 10
export const DEFAULT_PORT = 5432

/** What a database URL says, the password kept redacted. */
export interface DatabaseUrl {
  readonly host: string
  readonly port: number
  readonly database: string
  readonly user: string
  /** `null` when the URL has none (the server authenticates otherwise). */
  readonly password: Redacted.Redacted<string> | null
  /** `sslmode`: `false` for none (the default); otherwise whether the server's certificate is checked. */
  readonly ssl: false | { readonly rejectUnauthorized: boolean; readonly checkHostname: boolean }
  readonly applicationName: string | null
}

export class InvalidDatabaseUrl extends Data.TaggedError("InvalidDatabaseUrl")<{ readonly reason: string }> {
  override get message(): string {
    return `the database URL is not usable: ${this.reason}`
  }
}

const SSL_MODES: Readonly<Record<string, DatabaseUrl["ssl"]>> = {
  disable: false,
  require: { rejectUnauthorized: false, checkHostname: false },
  "verify-ca": { rejectUnauthorized: true, checkHostname: false },
  "verify-full": { rejectUnauthorized: true, checkHostname: true }
}

const PARAMETERS = ["sslmode", "application_name"]

const decode = (part: string, what: string): Either.Either<string, InvalidDatabaseUrl> => {
  try {
    return Either.right(decodeURIComponent(part))
  } catch {
    return Either.left(new InvalidDatabaseUrl({ reason: `its ${what} is not valid percent-encoding` }))
  }
}

/**
 * Parses `postgres://user:password@host:port/database?sslmode=…&application_name=…` (`postgresql://`
 * too). User, host and database must be there; the port defaults to 5432, the password to none,
 * `sslmode` to `disable` (`require`, `verify-ca` and `verify-full` as libpq means them). Any other
 * parameter is refused rather than ignored. The reason never repeats the password.
 */
export const parseDatabaseUrl = (text: string): Either.Either<DatabaseUrl, InvalidDatabaseUrl> => {
  const fail = (reason: string) => Either.left(new InvalidDatabaseUrl({ reason }))
  const notAUrl = "it is not a URL of the form postgres://user:password@host:port/database"
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text.trim())) return fail(notAUrl)
  let url: URL
  try {
    url = new URL(text.trim())
  } catch {
    return fail(notAUrl)
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    return fail(`its scheme is ${url.protocol.replace(/:$/, "")}, not postgres or postgresql`)
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1")
  if (host === "") return fail("it names no host")
  const port = url.port === "" ? DEFAULT_PORT : Number(url.port)
  if (url.username === "") return fail("it names no user")
  if (url.pathname === "" || url.pathname === "/") return fail("it names no database")
  if (url.pathname.lastIndexOf("/") > 0) return fail("its database name has a slash")
  if (url.hash !== "") return fail("it has a fragment (#…)")
  for (const key of url.searchParams.keys()) {
    if (!PARAMETERS.includes(key)) return fail(`it has the parameter ${key}; the ones understood are ${PARAMETERS.join(", ")}`)
  }
  const sslmode = url.searchParams.get("sslmode") ?? "disable"
  const ssl = SSL_MODES[sslmode]
  if (ssl === undefined) return fail(`sslmode ${sslmode} is not one of ${Object.keys(SSL_MODES).join(", ")}`)
  return Either.all({
    user: decode(url.username, "user"),
    password: url.password === "" ? Either.right(null) : Either.map(decode(url.password, "password"), Redacted.make),
    database: decode(url.pathname.slice(1), "database name")
  }).pipe(Either.map(({ database, password, user }) => ({
    host,
    port,
    database,
    user,
    password,
    ssl,
    applicationName: url.searchParams.get("application_name")
  })))
}

/** The URL without its password, for logs and error messages. */
export const describeDatabaseUrl = (url: DatabaseUrl): string => {
  const host = url.host.includes(":") ? `[${url.host}]` : url.host
  return `postgres://${encodeURIComponent(url.user)}@${host}:${url.port}/${encodeURIComponent(url.database)}`
}

/** Where the store connects, and how many connections a process opens at most. */
export interface PostgresSettings {
  readonly url: DatabaseUrl
  readonly poolSize: number
}

/**
 * `MMGW_DATABASE_URL` (required) and `MMGW_DATABASE_POOL_SIZE` (a positive integer, default 10): the
 * settings `layerDatabase` takes.
 */
export const postgresConfig: Config.Config<PostgresSettings> = Config.all({
  url: Config.redacted("MMGW_DATABASE_URL").pipe(
    Config.mapOrFail((text) =>
      Either.mapLeft(parseDatabaseUrl(Redacted.value(text)), (e) => ConfigError.InvalidData(["MMGW_DATABASE_URL"], e.message))
    )
  ),
  poolSize: Config.integer("MMGW_DATABASE_POOL_SIZE").pipe(
    Config.mapOrFail((n) =>
      n >= 1 ? Either.right(n) : Either.left(ConfigError.InvalidData(["MMGW_DATABASE_POOL_SIZE"], "Expected a positive number of connections"))
    ),
    Config.withDefault(DEFAULT_POOL_SIZE)
  )
})

/**
 * `postgresConfig` when `MMGW_DATABASE_URL` is set, none when it is not (or empty): how an app chooses
 * its store — PostgreSQL when the URL is there, its embedded default otherwise.
 */
export const postgresConfigWhenSet: Effect.Effect<Option.Option<PostgresSettings>, ConfigError.ConfigError> = Effect.gen(
  function*() {
    const text = yield* Config.string("MMGW_DATABASE_URL").pipe(Config.withDefault(""))
    return text.trim() === "" ? Option.none() : Option.some(yield* postgresConfig)
  }
)
