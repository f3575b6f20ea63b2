import { Context, Layer } from "effect"

/** Counters of the api process, rendered in the Prometheus text format at `/metrics`. */
export interface ApiMetrics {
  readonly request: (method: string, route: string, status: number) => void
  readonly webhook: (source: string, status: number) => void
  readonly sendAccepted: (endpoint: string, route: string) => void
  readonly sendRejected: (endpoint: string, code: string) => void
  /** A status update relayed to a provider: `answered` with its HTTP status, `not_sent` or `no_answer`. */
  readonly statusUpdate: (provider: string, outcome: string) => void
  readonly render: (gauges: Readonly<Record<string, { readonly help: string; readonly value: number }>>) => string
}

export class Metrics extends Context.Tag("@mm-gateway/http-adapter/Metrics")<Metrics, ApiMetrics>() {}

const escape = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, "\\\"").replace(/\n/g, "\\n")

class Counter {
  private readonly values = new Map<string, number>()
  constructor(readonly name: string, readonly help: string, readonly labels: ReadonlyArray<string>) {}
  inc(...labelValues: ReadonlyArray<string>) {
    const key = labelValues.map(escape).join("\u0000")
    this.values.set(key, (this.values.get(key) ?? 0) + 1)
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`]
    for (const [key, value] of [...this.values].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const parts = key.split("\u0000")
      lines.push(`${this.name}{${this.labels.map((l, i) => `${l}="${parts[i] ?? ""}"`).join(",")}} ${value}`)
    }
    return lines.join("\n")
  }
}

export const makeMetrics = (): ApiMetrics => {
  const requests = new Counter("mmgw_http_requests_total", "HTTP requests answered, by route and status.", ["method", "route", "status"])
  const webhooks = new Counter("mmgw_webhooks_total", "Webhook deliveries answered, by source and status.", ["source", "status"])
  const accepted = new Counter("mmgw_sends_accepted_total", "Messages accepted for sending, by endpoint called and route decided.", ["endpoint", "route"])
  const rejected = new Counter("mmgw_sends_rejected_total", "Send requests refused, by endpoint and error code.", ["endpoint", "code"])
  const statusUpdates = new Counter(
    "mmgw_status_updates_total",
    "Status updates (read receipts) relayed to providers, by provider and outcome (the provider's HTTP status, not_sent, no_answer).",
    ["provider", "outcome"]
  )
  return {
    request: (method, route, status) => requests.inc(method, route, String(status)),
    webhook: (source, status) => webhooks.inc(source, String(status)),
    sendAccepted: (endpoint, route) => accepted.inc(endpoint, route),
    sendRejected: (endpoint, code) => rejected.inc(endpoint, code),
    statusUpdate: (provider, outcome) => statusUpdates.inc(provider, outcome),
    render: (gauges) =>
      [
        ...Object.entries(gauges).map(([name, g]) => `# HELP ${name} ${g.help}\n# TYPE ${name} gauge\n${name} ${g.value}`),
        requests.render(),
        webhooks.render(),
        accepted.render(),
        rejected.render(),
        statusUpdates.render()
      ].join("\n") + "\n"
  }
}

export const layerMetrics = Layer.sync(Metrics, makeMetrics)

/** The route label of requests that match no route: one label, whatever was asked. */
export const UNMATCHED_ROUTE = "unmatched"

/**
 * The route label of a request path: the route template it matches (`/v1/channels/106540352242922/messages`
 * → `/v1/channels/:phoneNumberId/messages`), or `unmatched`. Only templates become labels, so no client can
 * grow the label set by asking for paths that do not exist.
 */
export const makeRouteLabel = (templates: ReadonlyArray<string>) => {
  const parsed = templates.map((template) => ({
    template,
    segments: template.split("/"),
    statics: template.split("/").filter((s) => !s.startsWith(":")).length
  })).sort((a, b) => b.statics - a.statics)
  return (path: string): string => {
    const segments = path.split("?", 1)[0]!.split("/")
    const match = parsed.find((t) =>
      t.segments.length === segments.length &&
      t.segments.every((s, i) => (s.startsWith(":") ? segments[i] !== "" : s === segments[i]))
    )
    return match?.template ?? UNMATCHED_ROUTE
  }
}
