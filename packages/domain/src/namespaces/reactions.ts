/** The `Reactions` namespace: what a message event means for other streams. */
export { type Reaction, reactionsTo } from "../lifecycle/reactions.js"
