import { Effect } from "effect"
import { CommandHandler, Ids, InMemoryEventStore, Streams } from "@mm-gateway/domain"

const wabaId = Ids.WabaId.make("102290129340398")
const program = CommandHandler.handleCommand(Streams.WabaStream, Streams.streamId.waba(wabaId), {
  _tag: "RecordWabaTermsSigned",
  wabaId,
  ownerBusinessId: null,
  signedAt: 1_764_000_000_000,
  at: Date.now()
})
Effect.runPromise(program.pipe(Effect.provide(InMemoryEventStore.layer))).then((r) => console.log(r.events))
