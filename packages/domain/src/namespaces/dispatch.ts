/** The `Dispatch` namespace: the worker's two steps around one provider request. */
export { beginDispatch, type BeginOutcome, type DispatchTicket, settleDispatch, type Settlement } from "../application/dispatch.js"
