import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startApi, type TestApi } from "./support.js"

/**
 * The console's files as the server answers them (the page itself is tested in a real browser in
 * packages/console): the directory's files under `/console`, each with the headers that keep the page
 * to its own code, and nothing outside the directory.
 */
let api: TestApi
let assets: string
beforeAll(async () => {
  assets = mkdtempSync(join(tmpdir(), "mmgw-console-assets-"))
  writeFileSync(join(assets, "index.html"), "<!doctype html><title>console</title>")
  writeFileSync(join(assets, "console.js"), "console.log('hi')")
  writeFileSync(join(assets, "console.css"), "body{}")
  writeFileSync(join(assets, "notes.md"), "not served: no known type")
  api = await startApi({}, undefined, { consoleDirectory: assets })
})
afterAll(async () => {
  await api.close()
  rmSync(assets, { recursive: true, force: true })
})

const SECURITY = {
  "content-security-policy": /(^|; )script-src 'self'(;|$)/,
  "x-content-type-options": /^nosniff$/,
  "x-frame-options": /^DENY$/
}

describe("the console's files", () => {
  it("/console and /console/ answer index.html, the assets their own types, each with a CSP without inline scripts, nosniff and frame denial", async () => {
    for (const [path, type, body] of [
      ["/console", "text/html", "<title>console</title>"],
      ["/console/", "text/html", "<title>console</title>"],
      ["/console/console.js", "text/javascript", "console.log"],
      ["/console/console.css", "text/css", "body{}"]
    ] as const) {
      const answer = await api.request("GET", path, { token: null })
      assert.strictEqual(answer.status, 200, path)
      assert.include(answer.headers.get("content-type"), type, path)
      assert.include(answer.text, body, path)
      for (const [header, pattern] of Object.entries(SECURITY)) assert.match(answer.headers.get(header) ?? "", pattern, `${path} ${header}`)
      const csp = answer.headers.get("content-security-policy")!
      assert.notInclude(csp, "unsafe-inline")
      assert.include(csp, "frame-ancestors 'none'")
      assert.isNull(answer.headers.get("set-cookie"))
    }
  })

  it("a file not in the directory, one of no known type, and a path out of it are 404", async () => {
    for (const path of ["/console/missing.js", "/console/notes.md", "/console/..%2Fpackage.json", "/console/%2e%2e/index.html"]) {
      const answer = await api.request("GET", path, { token: null })
      assert.strictEqual(answer.status, 404, path)
    }
  })

  it("without a console directory the api has no /console", async () => {
    const bare = await startApi()
    try {
      assert.strictEqual((await bare.request("GET", "/console", { token: null })).status, 404)
    } finally {
      await bare.close()
    }
  })
})
