import { eventStoreContract, unitOfWorkContract } from "@mm-gateway/domain/testing"
import { Effect, Layer } from "effect"
import { layerEventStoreFor } from "../src/event-store.js"
import { freshDatabase } from "../testing/index.js"

/** A fresh, empty store each time it is built: a database of its own on the run's server. */
const freshStore = () => Layer.unwrapScoped(Effect.map(freshDatabase, (url) => layerEventStoreFor({ url })))

eventStoreContract("postgres", freshStore)
unitOfWorkContract("postgres", freshStore)
