// @ts-check
// The "what to try next" that `pnpm start` prints: copy-paste shell lines for a first send. The
// end-to-end test runs exactly this text with bash, so what a newcomer pastes is what is tested.

/** Ids of the walk-through (the shapes of Meta's documentation examples). */
export const FIRST_SEND = {
  businessManagerId: "271828182845904",
  wabaId: "102290129340398",
  phoneNumberId: "106540352242922",
  recipient: "16505551234"
}

/** @param {string} text */
const quote = (text) => `'${text.replace(/'/g, `'\\''`)}'`

/**
 * @param {{ apiUrl: string, adminToken: string, appSecret: string, now?: number }} options
 * @returns {string} a bash script: comments say what each step does
 */
export const nextSteps = (options) => {
  const { apiUrl, adminToken } = options
  const { businessManagerId: bm, wabaId: waba, phoneNumberId: phone, recipient } = FIRST_SEND
  const auth = `-H ${quote(`Authorization: Bearer ${adminToken}`)}`
  const json = `-H 'Content-Type: application/json'`
  // --fail-with-body: an error answer stops a `set -e` script (the test runs it so) and still shows
  // the error's JSON to whoever pasted the line.
  const curl = `curl -sS --fail-with-body`
  /** @param {string} method @param {string} path @param {unknown} body */
  const call = (method, path, body) =>
    `${curl} -X ${method} ${apiUrl}${path} ${auth} ${json} -d ${quote(JSON.stringify(body))}`
  /** @param {string} path */
  const get = (path) => `${curl} ${apiUrl}${path} ${auth}`
  /** Polls `path` until its JSON contains `needle`, for at most 10 s (the steps go on either way and show what is there). */
  const waitUntil = (/** @type {string} */ path, /** @type {string} */ needle) =>
    `for i in $(seq 50); do ${get(path)} | grep -q ${quote(needle)} && break; sleep 0.2; done`
  const webhook = JSON.stringify({
    object: "whatsapp_business_account",
    entry: [{
      id: waba,
      time: Math.floor((options.now ?? Date.now()) / 1000),
      changes: [{
        field: "account_update",
        value: { event: "MM_LITE_TERMS_SIGNED", waba_info: { waba_id: waba, owner_business_id: bm } }
      }]
    }]
  })
  const sign = `node -e 'process.stdout.write(require("crypto").createHmac("sha256", process.argv[1]).update(process.argv[2]).digest("hex"))'`
  return [
    `# 1. Register a Business Manager, its WABA, a phone number on the sandbox and a MARKETING template`,
    `${call("PUT", `/v1/business-managers/${bm}`, { name: "Acme Inc." })}; echo`,
    `${call("PUT", `/v1/wabas/${waba}`, { businessManagerId: bm, name: "Acme marketing" })}; echo`,
    `${call("PUT", `/v1/channels/${phone}`, {
      wabaId: waba,
      displayPhoneNumber: "+1 555 078 3881",
      provider: "sandbox",
      credentials: { apiKey: `sandbox-${phone}` }
    })}; echo`,
    `${call("PUT", `/v1/wabas/${waba}/templates/spring_sale/en`, { category: "MARKETING" })}; echo`,
    ``,
    `# 2. The WABA accepts the MM API terms: post Meta's MM_LITE_TERMS_SIGNED webhook, signed with the app secret`,
    `BODY=${quote(webhook)}`,
    `SIG=$(${sign} ${quote(options.appSecret)} "$BODY")`,
    `${curl} -X POST ${apiUrl}/webhooks/meta -H "X-Hub-Signature-256: sha256=$SIG" ${json} -d "$BODY"; echo`,
    `# the worker applies it within a moment: wait until the WABA shows "onboarded"`,
    waitUntil(`/v1/wabas/${waba}`, `"status":"onboarded"`),
    `${get(`/v1/wabas/${waba}`)}; echo`,
    ``,
    `# 3. Send a marketing message (the gateway routes it to /marketing_messages) and follow it to "read"`,
    `ID=$(${call("POST", `/v1/channels/${phone}/marketing_messages`, {
      messaging_product: "whatsapp",
      to: recipient,
      type: "template",
      template: { name: "spring_sale", language: { code: "en" } }
    })} | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)`,
    `echo "message $ID"`,
    `# the worker sends it to the sandbox, which answers with a wamid and then sends sent → delivered → read webhooks`,
    waitUntil(`/v1/messages/$ID`, `"status":"read"`),
    `${get(`/v1/messages/$ID`)}; echo`
  ].join("\n")
}
