import { Option } from "effect"
import { LOOPBACK_HOSTS } from "./address-policy.js"

/**
 * `MMGW_FORWARD_ALLOW_HOSTS`: host names or IP literals, comma-separated, that forwarding may reach
 * over `http` and on non-public addresses (docs/forwarding.md#safe-by-default). Unset, development
 * mode allows this machine (`localhost`, `127.0.0.1`, `::1`) and production mode nothing.
 */
export const forwardAllowHosts = (mode: "development" | "production", text: Option.Option<string>): ReadonlyArray<string> =>
  Option.match(text, {
    onNone: () => (mode === "development" ? [...LOOPBACK_HOSTS] : []),
    onSome: (list) => list.split(",").map((h) => h.trim().toLowerCase().replace(/^\[(.*)\]$/, "$1")).filter((h) => h !== "")
  })
