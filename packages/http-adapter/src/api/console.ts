import { HttpApiBuilder, HttpRouter, HttpServerResponse } from "@effect/platform"
import { Effect, Layer } from "effect"
import { readdirSync, readFileSync, statSync } from "node:fs"
import { extname, join } from "node:path"

/**
 * The operator console's pages (packages/console/README.md): static files the app hands over as a directory,
 * read once at start-up and served under `/console`. Every answer carries the headers that keep the
 * page to its own code: no inline script, no other origin, never inside a frame.
 */
export const CONSOLE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'"
  ].join("; "),
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache"
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".txt": "text/plain; charset=utf-8"
}

/** The route templates the console answers, for the metrics' route label. */
export const CONSOLE_ROUTES = ["/console", "/console/", "/console/:file"] as const

interface Asset {
  readonly body: Uint8Array
  readonly contentType: string
}

const readAssets = (directory: string): ReadonlyMap<string, Asset> => {
  const assets = new Map<string, Asset>()
  for (const name of readdirSync(directory)) {
    const path = join(directory, name)
    const type = CONTENT_TYPES[extname(name)]
    if (type !== undefined && statSync(path).isFile()) assets.set(name, { body: readFileSync(path), contentType: type })
  }
  if (!assets.has("index.html")) throw new Error(`the console's directory ${directory} has no index.html (is @mm-gateway/console built?)`)
  return assets
}

const answer = (asset: Asset | undefined) =>
  asset === undefined
    ? HttpServerResponse.text("not found", { status: 404, headers: CONSOLE_SECURITY_HEADERS })
    : HttpServerResponse.uint8Array(asset.body, { contentType: asset.contentType, headers: CONSOLE_SECURITY_HEADERS })

/** Mounts the console's files from `directory` at `/console` (`index.html`) and `/console/<file>`. */
export const layerConsole = (directory: string): Layer.Layer<never> =>
  HttpApiBuilder.Router.use((router) =>
    Effect.gen(function*() {
      const assets = readAssets(directory)
      const index = Effect.sync(() => answer(assets.get("index.html")))
      // The router ignores a trailing slash: this answers `/console/` too.
      yield* router.get("/console", index)
      yield* router.get("/console/:file", Effect.map(HttpRouter.params, (params) => answer(assets.get(params["file"] ?? ""))))
    })
  )
