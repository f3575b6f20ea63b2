import { Config, Option } from "effect"

/** Where the provider clients send, and how long they wait. */
export interface ProviderClientConfig {
  /** Meta Graph, without a trailing slash: `https://graph.facebook.com`. */
  readonly graphBaseUrl: string
  readonly graphApiVersion: string
  /** 360dialog's WABA API: `https://waba-v2.360dialog.io`. */
  readonly d360BaseUrl: string
  /** The sandbox speaks the Graph style; channels with `provider: "sandbox"` go here. */
  readonly sandboxBaseUrl: string
  /** Whole request, from asking for a socket to the last byte of the answer. */
  readonly requestTimeoutMs: number
  /** Getting a connected (and, for https, handshaken) socket; past it nothing was sent. */
  readonly connectTimeoutMs: number
  /** Sockets kept per origin; requests beyond it wait for a free one. */
  readonly maxSocketsPerOrigin: number
  /**
   * An idle keep-alive socket is closed after this long. Kept below the provider's own idle timeout,
   * so a request is rarely written into a socket the far end is closing (that case is reported as
   * unknown, because it cannot be told from a crash after the request arrived).
   */
  readonly idleSocketTimeoutMs: number
  /** Extra trusted certificates (PEM) for https origins, e.g. a test server or a private CA. */
  readonly tlsCa?: string
}

export const defaultProviderClientConfig: ProviderClientConfig = {
  graphBaseUrl: "https://graph.facebook.com",
  // Supported by Meta until 2028-07-29 (v24.0 ends 2028-02-18; v27.0 is the newest): docs/provider.md.
  graphApiVersion: "v25.0",
  d360BaseUrl: "https://waba-v2.360dialog.io",
  sandboxBaseUrl: "http://127.0.0.1:8090",
  requestTimeoutMs: 15_000,
  connectTimeoutMs: 5_000,
  maxSocketsPerOrigin: 64,
  idleSocketTimeoutMs: 4_000
}

const trimSlash = (url: string): string => url.replace(/\/+$/, "")

/** The plain-object constructor: unset fields get the defaults. */
export const makeProviderClientConfig = (overrides: Partial<ProviderClientConfig> = {}): ProviderClientConfig => {
  const config = { ...defaultProviderClientConfig, ...overrides }
  const connectTimeoutMs = Math.min(config.connectTimeoutMs, config.requestTimeoutMs)
  return {
    ...config,
    graphBaseUrl: trimSlash(config.graphBaseUrl),
    d360BaseUrl: trimSlash(config.d360BaseUrl),
    sandboxBaseUrl: trimSlash(config.sandboxBaseUrl),
    connectTimeoutMs
  }
}

const positiveInt = (name: string, fallback: number) =>
  Config.integer(name).pipe(
    Config.validate({ message: `${name} must be a positive integer`, validation: (n) => n > 0 }),
    Config.withDefault(fallback)
  )

const url = (name: string) =>
  Config.string(name).pipe(Config.validate({
    message: `${name} must be an http(s) URL`,
    validation: (value) => /^https?:\/\/[^\s]+$/.test(value) && URL.canParse(value)
  }))

/**
 * From the environment: `MMGW_GRAPH_BASE_URL`, `MMGW_GRAPH_API_VERSION`, `MMGW_360DIALOG_BASE_URL`,
 * `MMGW_SANDBOX_URL` (else `http://${MMGW_HOST}:${MMGW_SANDBOX_PORT}`), and the tuning knobs
 * `MMGW_PROVIDER_TIMEOUT_MS`, `MMGW_PROVIDER_CONNECT_TIMEOUT_MS`, `MMGW_PROVIDER_MAX_SOCKETS`,
 * `MMGW_PROVIDER_IDLE_SOCKET_TIMEOUT_MS`.
 */
export const providerClientConfig: Config.Config<ProviderClientConfig> = Config.all({
  graphBaseUrl: url("MMGW_GRAPH_BASE_URL").pipe(Config.withDefault(defaultProviderClientConfig.graphBaseUrl)),
  graphApiVersion: Config.string("MMGW_GRAPH_API_VERSION").pipe(
    Config.validate({ message: "MMGW_GRAPH_API_VERSION must look like v25.0", validation: (v) => /^v\d+\.\d+$/.test(v) }),
    Config.withDefault(defaultProviderClientConfig.graphApiVersion)
  ),
  d360BaseUrl: url("MMGW_360DIALOG_BASE_URL").pipe(Config.withDefault(defaultProviderClientConfig.d360BaseUrl)),
  sandboxBaseUrl: Config.all({
    explicit: Config.option(url("MMGW_SANDBOX_URL")),
    host: Config.string("MMGW_HOST").pipe(Config.withDefault("127.0.0.1")),
    port: Config.port("MMGW_SANDBOX_PORT").pipe(Config.withDefault(8090))
  }).pipe(Config.map(({ explicit, host, port }) =>
    Option.getOrElse(explicit, () => `http://${host.includes(":") ? `[${host}]` : host}:${port}`)
  )),
  requestTimeoutMs: positiveInt("MMGW_PROVIDER_TIMEOUT_MS", defaultProviderClientConfig.requestTimeoutMs),
  connectTimeoutMs: positiveInt("MMGW_PROVIDER_CONNECT_TIMEOUT_MS", defaultProviderClientConfig.connectTimeoutMs),
  maxSocketsPerOrigin: positiveInt("MMGW_PROVIDER_MAX_SOCKETS", defaultProviderClientConfig.maxSocketsPerOrigin),
  idleSocketTimeoutMs: positiveInt("MMGW_PROVIDER_IDLE_SOCKET_TIMEOUT_MS", defaultProviderClientConfig.idleSocketTimeoutMs)
}).pipe(Config.map(makeProviderClientConfig))
