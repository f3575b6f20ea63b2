import { Context, type Effect } from "effect"

export interface ApiKeyRecord {
  readonly id: string
  readonly name: string
  /** The Business Managers the key sees, with their WABAs, channels, templates and messages. */
  readonly businessManagerIds: ReadonlyArray<string>
  /** Channels (phone number ids) the key sees besides, with their messages and clicks, and nothing above them. */
  readonly channelIds: ReadonlyArray<string>
  /** The SHA-256 of the secret, hex; the secret itself is shown once at creation and never kept. */
  readonly secretHash: string
  readonly createdAt: number
  readonly revokedAt: number | null
}

/** Where API keys live. */
export class ApiKeyStore extends Context.Tag("@mm-gateway/ports/ApiKeyStore")<ApiKeyStore, {
  readonly insert: (record: ApiKeyRecord) => Effect.Effect<void>
  readonly find: (id: string) => Effect.Effect<ApiKeyRecord | null>
  /** By id, after `afterId` (exclusive). */
  readonly list: (limit: number, afterId: string | null) => Effect.Effect<ReadonlyArray<ApiKeyRecord>>
  /** True when the key exists (revoked now or before). */
  readonly revoke: (id: string, at: number) => Effect.Effect<boolean>
}>() {}
