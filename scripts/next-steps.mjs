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
  /** @param {string} method @param {string} path @param {unknown} body */
  const call = (method, path, body) =>
    `curl -sf -X ${method} ${apiUrl}${path} ${auth} ${json} -d ${quote(JSON.stringify(body))}`
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
    call("PUT", `/v1/business-managers/${bm}`, { name: "Acme Inc." }),
    call("PUT", `/v1/wabas/${waba}`, { businessManagerId: bm, name: "Acme marketing" }),
    call("PUT", `/v1/channels/${phone}`, {
      wabaId: waba,
      displayPhoneNumber: "+1 555 078 3881",
      provider: "sandbox",
      credentials: { apiKey: `sandbox-${phone}` }
    }),
    call("PUT", `/v1/wabas/${waba}/templates/spring_sale/en`, { category: "MARKETING" }),
    ``,
    `# 2. The WABA accepts the MM API terms: post Meta's MM_LITE_TERMS_SIGNED webhook, signed with the app secret`,
    `BODY=${quote(webhook)}`,
    `SIG=$(${sign} ${quote(options.appSecret)} "$BODY")`,
    `curl -sf -X POST ${apiUrl}/webhooks/meta -H "X-Hub-Signature-256: sha256=$SIG" ${json} -d "$BODY"; echo`,
    `# the worker applies it within a moment: wait until the WABA shows "onboarded"`,
    `until curl -sf ${apiUrl}/v1/wabas/${waba} ${auth} | grep -q '"status":"onboarded"'; do sleep 0.2; done`,
    `curl -sf ${apiUrl}/v1/wabas/${waba} ${auth}; echo`,
    ``,
    `# 3. Send a marketing message (routed to /marketing_messages) and read its status`,
    `ID=$(${call("POST", `/v1/channels/${phone}/marketing_messages`, {
      messaging_product: "whatsapp",
      to: recipient,
      type: "template",
      template: { name: "spring_sale", language: { code: "en" } }
    })} | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)`,
    `echo "message $ID"`,
    `sleep 2   # the sandbox answers, then sends sent → delivered → read webhooks`,
    `curl -sf ${apiUrl}/v1/messages/$ID ${auth}; echo`
  ].join("\n")
}
