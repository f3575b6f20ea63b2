/** The `Decider` namespace: what a decider is, and folding events into its state. */
export { type Decider, fold } from "../shared/decider.js"
