import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "vitest"
import { nextSteps } from "../../scripts/next-steps.mjs"
import { ROOT } from "../../scripts/stack.mjs"

/**
 * The root README cannot drift from the code: its first send is what `pnpm start` prints with the
 * defaults (and pnpm-start.test.ts runs what it prints), its configuration table names every `MMGW_*`
 * variable a process reads, and every `pnpm` command in it exists.
 */
const readme = readFileSync(join(ROOT, "README.md"), "utf8")

const sources = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? sources(path) : name.endsWith(".ts") ? [path] : []
  })

describe("README.md", () => {
  it("shows the first send exactly as pnpm start prints it with the default address and development secrets", () => {
    const start = readme.indexOf("<!-- first-send:")
    assert.isAtLeast(start, 0, "the first-send marker")
    const block = readme.slice(start).split("```sh\n")[1]!.split("\n```")[0]!
    const time = Number(/"time":(\d+)/.exec(block)?.[1])
    assert.isTrue(Number.isInteger(time), "the webhook's entry time")
    assert.strictEqual(
      block,
      nextSteps({ apiUrl: "http://127.0.0.1:8080", adminToken: "dev-admin-token", appSecret: "dev-app-secret", now: time * 1000 })
    )
  })

  it("lists every MMGW_* variable the processes read in its configuration table", () => {
    const table = readme.slice(readme.indexOf("## Configuration"), readme.indexOf("## Production"))
    const read = new Set<string>()
    for (const root of ["apps", "packages"]) {
      for (const pkg of readdirSync(join(ROOT, root))) {
        const src = join(ROOT, root, pkg, "src")
        if (!statSync(join(ROOT, root, pkg)).isDirectory() || !readdirSync(join(ROOT, root, pkg)).includes("src")) continue
        for (const file of sources(src)) for (const m of readFileSync(file, "utf8").matchAll(/MMGW_[A-Z0-9_]+/g)) read.add(m[0])
      }
    }
    assert.isAbove(read.size, 30)
    const missing = [...read].filter((name) => !table.includes(`\`${name}\``)).sort()
    assert.deepStrictEqual(missing, [])
  })

  it("names only pnpm scripts that exist", () => {
    const scripts = Object.keys(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts)
    const builtins = ["install", "exec"]
    // Commands are in code: fenced blocks and `inline` spans.
    const code = [...readme.matchAll(/```sh\n([\s\S]*?)\n```|`([^`\n]+)`/g)].map((m) => m[1] ?? m[2]!).join("\n")
    const named = [...code.matchAll(/(?:^|[\s(&])pnpm ([a-z][a-z:-]*)/gm)].map((m) => m[1]!)
    assert.isAbove(named.length, 5)
    for (const name of named) assert.include([...scripts, ...builtins], name, `pnpm ${name}`)
  })
})
