/** The `Dispatch` namespace: the worker's two steps around one provider request, for one message or several at once. */
export {
  type Answer,
  type BeginInput,
  beginDispatch,
  beginDispatches,
  type BeginOutcome,
  type DispatchTicket,
  settleDispatch,
  settleDispatches,
  type Settlement,
  withholdDispatch
} from "../application/dispatch.js"
