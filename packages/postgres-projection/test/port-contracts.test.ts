import { leasesContract, webhookInboxContract } from "@mm-gateway/ports/testing"
import { Effect, Layer } from "effect"
import { layerDatabase } from "../src/database.js"
import { layerInbox } from "../src/inbox.js"
import { layerLeases } from "../src/leases.js"
import { freshDatabase } from "../testing/index.js"

/** The ports this store implements so far, each on a fresh, empty database of the run's server. */
const fresh = () => Layer.unwrapScoped(Effect.map(freshDatabase, (url) => Layer.merge(layerLeases, layerInbox).pipe(Layer.provide(layerDatabase({ url })))))

leasesContract("postgres", fresh)
webhookInboxContract("postgres", fresh)
