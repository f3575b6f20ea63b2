import { Ids, ProviderGateway } from "@mm-gateway/domain"
import { Effect, Layer } from "effect"
import { readFileSync } from "node:fs"
import * as http from "node:http"
import * as https from "node:https"
import * as net from "node:net"
import type { ProviderClientConfig } from "../../src/provider/index.js"
import { inMemoryChannelCredentials, makeProviderClientConfig, providerGatewayLayer } from "../../src/provider/index.js"

export const PHONE = Ids.PhoneNumberId.make("106540352242922")
export const ACCESS_TOKEN = "EAAG-meta-access-token-do-not-leak"
export const SANDBOX_TOKEN = "sandbox-bearer-do-not-leak"
export const D360_KEY = `sandbox-${PHONE}`

export const CREDENTIALS = {
  meta: { accessToken: ACCESS_TOKEN },
  sandbox: { apiKey: SANDBOX_TOKEN },
  d360: { apiKey: D360_KEY },
  "d360-not-onboarded": { apiKey: "sandbox-106540352240000" },
  empty: {}
}

/** Sends one request through a freshly built gateway, closed afterwards. */
export const sendWith = (
  overrides: Partial<ProviderClientConfig>,
  requests: ReadonlyArray<ProviderGateway.ProviderRequest>
): Effect.Effect<ReadonlyArray<ProviderGateway.ProviderSendResult>> =>
  Effect.gen(function*() {
    const gateway = yield* ProviderGateway.ProviderGateway
    const results: Array<ProviderGateway.ProviderSendResult> = []
    for (const request of requests) results.push(yield* gateway.send(request))
    return results
  }).pipe(
    Effect.provide(gatewayLayer(overrides)),
    Effect.scoped
  )

export const gatewayLayer = (overrides: Partial<ProviderClientConfig>): Layer.Layer<ProviderGateway.ProviderGateway> =>
  providerGatewayLayer(makeProviderClientConfig(overrides)).pipe(Layer.provide(inMemoryChannelCredentials(CREDENTIALS)))

export const sendOne = (overrides: Partial<ProviderClientConfig>, request: ProviderGateway.ProviderRequest) =>
  sendWith(overrides, [request]).pipe(Effect.map((results) => results[0]!))

export const request = (overrides: Partial<ProviderGateway.ProviderRequest> & Pick<ProviderGateway.ProviderRequest, "body">): ProviderGateway.ProviderRequest => ({
  provider: "sandbox",
  phoneNumberId: PHONE,
  credentialsRef: "sandbox",
  route: "cloud_api",
  ...overrides
})

export const templateBody = (to: string, name: string, callback: string): Record<string, unknown> => ({
  messaging_product: "whatsapp",
  recipient_type: "individual",
  to,
  type: "template",
  template: { name, language: { code: "en" } },
  biz_opaque_callback_data: callback
})

export interface TestServer {
  readonly url: string
  readonly port: number
  /** TCP connections accepted so far. */
  readonly connections: () => number
  readonly requests: () => ReadonlyArray<{ readonly method: string; readonly url: string; readonly headers: http.IncomingHttpHeaders; readonly body: string }>
  readonly close: () => Promise<void>
}

/** A node:http server on 127.0.0.1 whose handler sees the whole request body. */
export const startServer = async (
  handler: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void
): Promise<TestServer> => {
  let connections = 0
  const seen: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: string }> = []
  const server = http.createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8")
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body })
      handler(req, res, body)
    })
  })
  server.keepAliveTimeout = 30_000
  server.on("connection", () => connections++)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as net.AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    connections: () => connections,
    requests: () => seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

/** A raw TCP server: `onConnection` decides what the socket gets (or nothing at all). */
export const startTcpServer = async (onConnection: (socket: net.Socket) => void) => {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
    socket.on("error", () => {})
    onConnection(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as net.AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      })
  }
}

/** A port nothing listens on: bound, then released. */
export const closedPort = async (): Promise<number> => {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as net.AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** A webhook target that accepts everything, so the sandbox's background deliveries stay quiet. */
export const startSink = () => startServer((_req, res) => res.writeHead(200).end())

export const graphError = (code: number, message: string, details?: string) => ({
  error: {
    message,
    type: "OAuthException",
    code,
    ...(details === undefined ? {} : { error_data: { messaging_product: "whatsapp", details } }),
    fbtrace_id: "AbCdEf"
  }
})

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8")
/** A certificate for 127.0.0.1, made for these tests only (valid 2000–2099). */
export const TLS_CERT = fixture("localhost-cert.pem")
const TLS_KEY = fixture("localhost-key.pem")

/** An https server on 127.0.0.1 counting TLS connections; `handler` may leave a request unanswered. */
export const startHttpsServer = async (handler: (req: http.IncomingMessage, res: http.ServerResponse) => void) => {
  let connections = 0
  const server = https.createServer({ cert: TLS_CERT, key: TLS_KEY }, (req, res) => {
    req.resume()
    req.on("end", () => handler(req, res))
  })
  server.keepAliveTimeout = 30_000
  server.on("secureConnection", () => connections++)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as net.AddressInfo).port
  return {
    url: `https://127.0.0.1:${port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
