import { Schema } from "effect"

/** Who made a configuration change, for its audit: `admin`, or `api_key:<id>`; absent where nobody said. */
export const ChangedBy = Schema.optionalWith(Schema.String, { exact: true })
