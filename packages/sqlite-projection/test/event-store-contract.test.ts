import { eventStoreContract, unitOfWorkContract } from "@mm-gateway/domain/testing"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { layerEventStoreFor } from "../src/event-store.js"

eventStoreContract("sqlite", () => layerEventStoreFor({ path: ":memory:" }))
unitOfWorkContract("sqlite", () => layerEventStoreFor({ path: ":memory:" }))

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mmgw-contract-"))
let n = 0
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

eventStoreContract("sqlite file (WAL)", () => layerEventStoreFor({ path: path.join(dir, `store-${n++}.sqlite`) }))
unitOfWorkContract("sqlite file (WAL)", () => layerEventStoreFor({ path: path.join(dir, `store-${n++}.sqlite`) }))
