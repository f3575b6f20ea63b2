/** The `Dispatch` namespace: the worker's two steps around one provider request. */
export { beginDispatch, type BeginOutcome, type DispatchTicket, settleDispatch, type Settlement, withholdDispatch } from "../application/dispatch.js"
