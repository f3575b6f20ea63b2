// @ts-check
// `pnpm screenshots`: retakes the operator console's screenshots in docs/ (docs/console-*.png) from a
// demo run. Starts api + worker + sandbox on a temporary database, runs `pnpm demo` against them (a
// campaign of a few hundred messages over five WABAs), then signs in to /console in the same Chromium
// the console's tests use (@sparticuz/chromium, puppeteer-core) and saves one picture per view.
import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { freePort, ROOT, startStack } from "./stack.mjs"

const built = spawnSync("pnpm", ["exec", "turbo", "run", "build", "--output-logs=errors-only",
  "--filter=@mm-gateway/api", "--filter=@mm-gateway/worker", "--filter=@mm-gateway/sandbox"], { cwd: ROOT, stdio: "inherit" })
if (built.status !== 0) process.exit(built.status ?? 1)

// The browser is a dev dependency of the console package: resolve it from there.
const fromConsole = createRequire(join(ROOT, "packages/console/package.json"))
const { default: chromium } = await import(pathToFileURL(fromConsole.resolve("@sparticuz/chromium")).href)
const { default: puppeteer } = await import(pathToFileURL(fromConsole.resolve("puppeteer-core")).href)

const dir = mkdtempSync(join(tmpdir(), "mmgw-screenshots-"))
/** @type {NodeJS.ProcessEnv} */
const env = {
  ...process.env,
  MMGW_API_PORT: String(await freePort()),
  MMGW_SANDBOX_PORT: String(await freePort()),
  MMGW_DATABASE: join(dir, "screenshots.sqlite"),
  // Some link clicks and failures, so that the pictures show them.
  MMGW_SANDBOX_CLICK_RATE: "0.2",
  MMGW_SANDBOX_FAILURE_RATE: "0.03"
}
delete env.MMGW_SANDBOX_WEBHOOK_URL
delete env.MMGW_SANDBOX_URL
const stack = await startStack({ env, onLine: (name, line) => void (/ ERROR | FATAL /.test(line) && console.error(`${name}: ${line}`)) })
const { apiUrl, adminToken } = stack.settings
let browser
try {
  browser = await puppeteer.launch({
    executablePath: await chromium.executablePath(),
    args: [...chromium.args.filter((/** @type {string} */ a) => a !== "--disable-web-security"), "--lang=en-US"],
    env: { ...process.env, LANG: "en_US.UTF-8", TZ: process.env.TZ ?? "Europe/Berlin" },
    headless: "shell",
    defaultViewport: { width: 1280, height: 900 }
  })
  const page = await browser.newPage()
  await page.goto(`${apiUrl}/console`)
  await page.waitForSelector("#token")
  await page.type("#token", adminToken)
  await page.click("form button[type=submit]")
  await page.waitForSelector("nav[aria-label=Views]")
  /** @param {string} view @param {string} ready @param {string} file @param {number} wait @param {number} [width] */
  const shoot = async (view, ready, file, wait, width = 1280) => {
    await page.setViewport({ width, height: 900 })
    await page.click(`nav[aria-label=Views] a[href="#/${view}"]`)
    await page.waitForSelector(ready, { timeout: 60_000 })
    await new Promise((r) => setTimeout(r, wait))
    await page.screenshot({ path: join(ROOT, "docs", file), fullPage: false })
    console.log(`wrote docs/${file}`)
  }
  // The campaign while it runs: the page follows it, its curve growing point by point.
  const demo = spawn(process.execPath, [join(ROOT, "scripts/demo.mjs"), "--messages", "3000"], { cwd: ROOT, env, stdio: "inherit" })
  const demoDone = new Promise((resolve) => demo.once("exit", (code) => resolve(code)))
  await shoot("campaigns", "tr[data-stage=delivered]", "console-campaign.png", 12_000)
  if ((await demoDone) !== 0) throw new Error("the demo failed")
  await shoot("onboarding", "tr[data-waba]", "console-onboarding.png", 1_500)
  await shoot("routing", "tr[data-channel]", "console-routing.png", 1_500, 390)
} finally {
  await browser?.close()
  await stack.stop()
  rmSync(dir, { recursive: true, force: true })
}
