import { storePortContracts } from "@mm-gateway/ports/testing"
import { freshStore } from "./support.js"

// Every port's contract on the real server, each test on a database of its own.
storePortContracts("postgres", freshStore)
