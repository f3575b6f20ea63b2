import {
  apiKeyStoreContract,
  clickQueriesContract,
  configurationQueriesContract,
  credentialStoreContract,
  dispatchQueueContract,
  leasesContract,
  messageQueriesContract,
  onboardingQueriesContract,
  projectionRunnerContract,
  statusMatchingContract,
  storeHealthContract,
  webhookInboxContract
} from "@mm-gateway/ports/testing"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { layerSqliteStore } from "../src/store.js"

// Every port's contract on an in-memory database (the main one and the inbox both in memory)…
const inMemory = () => layerSqliteStore({ database: ":memory:", durability: "normal" })

webhookInboxContract("sqlite", inMemory)
leasesContract("sqlite", inMemory)
apiKeyStoreContract("sqlite", inMemory)
credentialStoreContract("sqlite", inMemory)
storeHealthContract("sqlite", inMemory)
projectionRunnerContract("sqlite", inMemory)
onboardingQueriesContract("sqlite", inMemory)
configurationQueriesContract("sqlite", inMemory)
messageQueriesContract("sqlite", inMemory)
clickQueriesContract("sqlite", inMemory)
dispatchQueueContract("sqlite", inMemory)
statusMatchingContract("sqlite", inMemory)

// …and on WAL files, where what is written must be committed before it is acknowledged: the inbox
// (group commit), the lease, keys and credentials, and the read side's unit of work.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mmgw-port-contracts-"))
let n = 0
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
const onFile = () => layerSqliteStore({ database: path.join(dir, `store-${n++}.sqlite`), durability: "full" })

webhookInboxContract("sqlite file (WAL, durability full)", onFile)
leasesContract("sqlite file (WAL, durability full)", onFile)
apiKeyStoreContract("sqlite file (WAL, durability full)", onFile)
credentialStoreContract("sqlite file (WAL, durability full)", onFile)
storeHealthContract("sqlite file (WAL, durability full)", onFile)
projectionRunnerContract("sqlite file (WAL, durability full)", onFile)
statusMatchingContract("sqlite file (WAL, durability full)", onFile)
