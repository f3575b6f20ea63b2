import chromium from "@sparticuz/chromium"
import { bundle, postSignedWebhook, SECRET_KEY, startTestStack, type TestStack } from "@mm-gateway/worker-test-stack"
import puppeteer, { type Browser, type Page } from "puppeteer-core"
import { spawn } from "node:child_process"
import * as net from "node:net"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { assetsDirectory } from "../src/index.js"

const WORKER_MAIN = fileURLToPath(new URL("../../../apps/worker/src/main.ts", import.meta.url))
// Under this package's .dev/, so that the bundle's better-sqlite3 resolves from its dependencies.
const OWN_DEV = fileURLToPath(new URL("../.dev", import.meta.url))

/**
 * A real Chromium from npm (`@sparticuz/chromium` carries the binary; nothing is downloaded), driven by
 * puppeteer-core. Its serverless defaults turn web security off; the console is tested with it on, so
 * that its content security policy and same-origin rules hold as in any browser. Its language is
 * set: from a POSIX locale (`LANG=C`) Chromium would name `en-US@posix`, which no browser a person
 * runs reports and Intl (uPlot's number format) refuses.
 */
export const launchBrowser = async (): Promise<Browser> =>
  puppeteer.launch({
    executablePath: await chromium.executablePath(),
    args: [...chromium.args.filter((a) => a !== "--disable-web-security" && a !== "--allow-running-insecure-content"), "--lang=en-US"],
    env: { ...process.env, LANG: "en_US.UTF-8", LANGUAGE: "en_US" },
    headless: "shell",
    defaultViewport: { width: 1280, height: 900 }
  })

/** What the page reported as an error: console errors (a CSP violation among them), uncaught exceptions, failed requests. */
export const watchErrors = (page: Page): Array<string> => {
  const errors: Array<string> = []
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`)
  })
  page.on("pageerror", (e) => errors.push(`page: ${e instanceof Error ? e.message : String(e)}`))
  page.on("requestfailed", (r) => errors.push(`request: ${r.url()} ${r.failure()?.errorText ?? ""}`))
  return errors
}

export interface ConsoleStack extends TestStack {
  readonly stopWorker: () => Promise<void>
}

/**
 * The real api (serving the built console), the sandbox, and the worker as its own process (its
 * `src/main.ts` bundled as the release build bundles it) on one temp SQLite database. The api asks
 * the sandbox for Meta's Intent API too.
 */
/** A port free a moment ago: the sandbox's, so the api can be told where Meta's Graph API is before the sandbox starts. */
const freePort = async (): Promise<number> => {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as net.AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** The system-user token the console stack's api asks Meta's Intent API (the sandbox) with. */
export const SYSTEM_USER_TOKEN = "console-test-system-user-token"

export const startConsoleStack = async (): Promise<ConsoleStack> => {
  const sandboxPort = await freePort()
  const stack = await startTestStack({
    consoleDirectory: assetsDirectory(),
    sandbox: { port: sandboxPort },
    apiEnv: { MMGW_GRAPH_BASE_URL: `http://127.0.0.1:${sandboxPort}`, MMGW_META_SYSTEM_USER_TOKEN: SYSTEM_USER_TOKEN }
  })
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("MMGW_")))
  const child = spawn(process.execPath, [await bundle(WORKER_MAIN, OWN_DEV)], {
    env: {
      ...inherited,
      MMGW_DATABASE: stack.database,
      MMGW_SECRET_KEY: SECRET_KEY,
      MMGW_SANDBOX_URL: stack.sandbox.url,
      MMGW_WORKER_ID: "console-test",
      MMGW_WORKER_LEASE_TTL: "3s",
      MMGW_DISPATCH_UNKNOWN_AFTER: "2s"
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  const lines: Array<string> = []
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  await new Promise<void>((resolve, reject) => {
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on("line", (line) => {
        lines.push(line)
        if (/\(instance \S+\)/.test(line)) resolve()
      })
    }
    void exited.then(() => reject(new Error(`the worker exited:\n${lines.join("\n")}`)))
  })
  const stopWorker = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM")
    await exited
  }
  return {
    ...stack,
    stopWorker,
    close: async () => {
      await stopWorker()
      await stack.close()
    }
  }
}

/** Posts a webhook body to the api as Meta would, signed with the app secret. */
export const postMetaWebhook = (stack: TestStack, body: unknown) => postSignedWebhook(stack.api, body)

/** Waits until the page's text under `selector` matches. */
export const waitForText = (page: Page, selector: string, pattern: RegExp, timeout = 60_000) =>
  page.waitForFunction(
    (s: string, source: string, flags: string) => {
      const el = document.querySelector(s)
      return el !== null && new RegExp(source, flags).test(el.textContent ?? "")
    },
    { timeout, polling: 100 },
    selector,
    pattern.source,
    pattern.flags
  )

/** Signs in on the page with `token`, leaving it on the default view. */
export const signIn = async (page: Page, url: string, token: string) => {
  await page.goto(`${url}/console`)
  await page.waitForSelector("#token")
  await page.type("#token", token)
  await page.click("form button[type=submit]")
  await page.waitForSelector("nav[aria-label=Views]")
}

/** Opens a view by its navigation link, as a user does. */
export const openView = async (page: Page, name: string) => {
  await page.click(`nav[aria-label=Views] a[href="#/${name}"]`)
  await page.waitForSelector(`section[aria-labelledby="${name}-title"]`)
}
