import {
  apiKeyStoreContract,
  credentialStoreContract,
  forwardingOutboxContract,
  leasesContract,
  projectionRunnerContract,
  statusMatchingContract,
  storeHealthContract,
  storePortContracts,
  webhookEndpointsContract,
  webhookInboxContract
} from "@mm-gateway/ports/testing"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { layerSqliteStore } from "../src/store.js"

// Every port's contract on an in-memory database (the main one and the inbox both in memory)…
storePortContracts("sqlite", () => layerSqliteStore({ database: ":memory:", durability: "normal" }))

// …and on WAL files, where what is written must be committed before it is acknowledged: the inbox
// (group commit), the lease, keys, credentials, endpoints and the outbox, and the read side's unit of work.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mmgw-port-contracts-"))
let n = 0
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
const onFile = () => layerSqliteStore({ database: path.join(dir, `store-${n++}.sqlite`), durability: "full" })

webhookInboxContract("sqlite file (WAL, durability full)", onFile)
leasesContract("sqlite file (WAL, durability full)", onFile)
apiKeyStoreContract("sqlite file (WAL, durability full)", onFile)
credentialStoreContract("sqlite file (WAL, durability full)", onFile)
webhookEndpointsContract("sqlite file (WAL, durability full)", onFile)
forwardingOutboxContract("sqlite file (WAL, durability full)", onFile)
storeHealthContract("sqlite file (WAL, durability full)", onFile)
projectionRunnerContract("sqlite file (WAL, durability full)", onFile)
statusMatchingContract("sqlite file (WAL, durability full)", onFile)
