import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { ROOT } from "../../scripts/stack.mjs"
import { eventually, SECRETS, stackEnv } from "./support.js"

/**
 * `pnpm start` as a newcomer meets it: `node scripts/start.mjs` (what the script runs) in a process
 * group of its own, on free ports and a temp database. The test waits for what it prints, runs the
 * printed first-send lines with bash, exactly as printed, then sends the group SIGINT, as Ctrl-C in a
 * terminal does.
 */
const dir = mkdtempSync(join(tmpdir(), "mmgw-e2e-start-"))
let output = ""
let exited: Promise<number | null>
let child: ReturnType<typeof spawn>
let env: NodeJS.ProcessEnv

const printed = (marker: string) => output.includes(marker)
const FIRST = "Try a first send (paste into another terminal):\n\n"
const LAST = "\n\nCtrl-C stops all three."

beforeAll(async () => {
  env = await stackEnv(dir)
  child = spawn(process.execPath, [join(ROOT, "scripts/start.mjs")], { cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] })
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()))
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()))
  exited = new Promise((resolve) => child.once("close", (code) => resolve(code)))
  await eventually("pnpm start to print its next steps", async () => {
    if (child.exitCode !== null) throw new Error(`start exited early:\n${output}`)
    return printed(LAST)
  })
})

afterAll(async () => {
  if (child.exitCode === null && child.signalCode === null) {
    process.kill(-child.pid!, "SIGKILL")
    await exited
  }
  rmSync(dir, { recursive: true, force: true })
})

describe("pnpm start", () => {
  it("prints the admin token it uses and the api's address", () => {
    assert.include(output, `admin token: ${SECRETS.MMGW_ADMIN_TOKEN}`)
    assert.include(output, `api      http://127.0.0.1:${env.MMGW_API_PORT}`)
    // Every line of a process's log carries its name.
    for (const name of ["api", "worker", "sandbox"]) assert.match(output, new RegExp(`^${name} +│ `, "m"))
  })

  it("its printed first-send lines work exactly as printed: the message ends read on the MM API", () => {
    const steps = output.slice(output.indexOf(FIRST) + FIRST.length, output.indexOf(LAST))
    assert.match(steps, /^# 1\. Register/)
    const run = spawnSync("bash", ["-e", "-o", "pipefail", "-c", steps], { encoding: "utf8", timeout: 90_000 })
    assert.strictEqual(run.status, 0, `the steps failed:\n${run.stdout}\n${run.stderr}\n--- stack:\n${output}`)
    const lines = run.stdout.trim().split("\n")
    const waba = JSON.parse(lines.find((l) => l.includes(`"mmApi":{"status":"onboarded"`)) ?? "null")
    assert.strictEqual(waba?.mmApi.source, "waba_webhook")
    const message = JSON.parse(lines.at(-1)!)
    assert.strictEqual(message.status, "read")
    assert.strictEqual(message.route.decided, "marketing_messages")
    assert.strictEqual(message.route.observed, "marketing_messages")
    assert.strictEqual(message.pricing.category, "marketing_lite")
    assert.match(message.wamid, /^wamid\./)
  })

  it("then the README's drop-in lines work, on this stack's address and admin token", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8")
    const marker = readme.indexOf("<!-- drop-in:")
    assert.isAtLeast(marker, 0, "the drop-in marker")
    const block = readme.slice(marker).split("```sh\n")[1]!.split("\n```")[0]!
      .replaceAll("http://127.0.0.1:8080", `http://127.0.0.1:${env.MMGW_API_PORT}`)
      .replaceAll("dev-admin-token", SECRETS.MMGW_ADMIN_TOKEN)
    const run = spawnSync("bash", ["-e", "-o", "pipefail", "-c", block], { encoding: "utf8", timeout: 30_000 })
    assert.strictEqual(run.status, 0, `the lines failed:\n${run.stdout}\n${run.stderr}`)
    const [graph, dialog] = run.stdout.trim().split("\n").map((line) => JSON.parse(line))
    assert.deepStrictEqual(graph.contacts, [{ input: "+16505551234", wa_id: "16505551234" }])
    assert.match(graph.messages[0].id, /^msg_[0-9a-f]{32}$/)
    assert.strictEqual(graph.messages[0].message_status, "accepted")
    assert.match(dialog.messages[0].id, /^msg_[0-9a-f]{32}$/)
    assert.notProperty(dialog.messages[0], "message_status")
  })

  it("stops all three cleanly on Ctrl-C: exit 0 each, the worker's leases released", async () => {
    process.kill(-child.pid!, "SIGINT")
    const code = await exited
    assert.strictEqual(code, 0, output)
    assert.include(output, "stopped: sandbox exit 0, api exit 0, worker exit 0")
    assert.match(output, /^worker +│ .*leases released by /m)
    // Nothing listens any more.
    for (const port of [env.MMGW_API_PORT, env.MMGW_SANDBOX_PORT]) {
      const answered = await fetch(`http://127.0.0.1:${port}/healthz`).then(() => true, () => false)
      assert.isFalse(answered, `port ${port} still answers`)
    }
  })
})
