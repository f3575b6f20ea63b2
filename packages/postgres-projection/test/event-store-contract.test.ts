import { eventStoreContract, unitOfWorkContract } from "@mm-gateway/domain/testing"
import { freshStore } from "./support.js"

// The domain's own ports, on the whole store (the read models projected inline with every append).
eventStoreContract("postgres", freshStore)
unitOfWorkContract("postgres", freshStore)
