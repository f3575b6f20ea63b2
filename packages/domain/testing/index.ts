export { eventStoreContract } from "./event-store-contract.js"
export { deciderSpec } from "./decider-spec.js"
