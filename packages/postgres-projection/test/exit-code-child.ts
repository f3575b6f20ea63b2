/**
 * Run as a child process by harness.test.ts: starts and stops a server, then ends as a failed test
 * run does, by setting `process.exitCode` and letting the event loop drain.
 */
import { startPostgresServer } from "../testing/server.js"

const server = await startPostgresServer()
await server.stop()
process.exitCode = 7
