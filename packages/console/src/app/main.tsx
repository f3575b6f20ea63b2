import "uplot/dist/uPlot.min.css"
import "./console.css"
import { render } from "preact"
import { useEffect, useMemo, useRef, useState } from "preact/hooks"
import { ApiError, client, type Client, storedToken, storeToken } from "./api.js"
import { timeZone } from "./format.js"
import { ErrorNote } from "./ui.js"
import { Campaigns } from "./views/campaigns.js"
import { Messages } from "./views/messages.js"
import { Onboarding } from "./views/onboarding.js"
import { Operations } from "./views/operations.js"
import { Routing } from "./views/routing.js"

const VIEWS = {
  onboarding: { title: "Onboarding", view: Onboarding },
  routing: { title: "Routing", view: Routing },
  campaigns: { title: "Campaigns", view: Campaigns },
  messages: { title: "Messages", view: Messages },
  operations: { title: "Operations", view: Operations }
} as const
type ViewName = keyof typeof VIEWS

const viewOfHash = (): ViewName => {
  const name = location.hash.replace(/^#\/?/, "")
  return name in VIEWS ? (name as ViewName) : "onboarding"
}

/** Who the token is (`GET /v1/api-keys/current`); a wrong token is 401. */
const whoIs = async (api: Client): Promise<"admin" | "key"> =>
  (await api.get<{ role: "admin" | "api_key" }>("/v1/api-keys/current")).role === "admin" ? "admin" : "key"

const SignIn = ({ onSignedIn, reason }: { onSignedIn: (token: string, role: "admin" | "key") => void; reason: string | null }) => {
  const [token, setToken] = useState("")
  const [error, setError] = useState<string | null>(reason)
  const [busy, setBusy] = useState(false)
  const input = useRef<HTMLInputElement>(null)
  useEffect(() => input.current?.focus(), [])
  return (
    <main id="main" class="sign-in">
      <h1>mm-gateway console</h1>
      <form
        aria-labelledby="sign-in-title"
        onSubmit={(e) => {
          e.preventDefault()
          setBusy(true)
          setError(null)
          const candidate = token.trim()
          whoIs(client(candidate, () => {})).then(
            (role) => onSignedIn(candidate, role),
            (e: unknown) => {
              setBusy(false)
              setError(e instanceof ApiError && e.status === 401 ? "That token is not valid: use the admin token or an API key." : String(e instanceof Error ? e.message : e))
            }
          )
        }}
      >
        <h2 id="sign-in-title">Sign in</h2>
        <p>With the admin token (<code>MMGW_ADMIN_TOKEN</code>) or an API key; a key sees only its own Business Managers and channels.</p>
        <label for="token">Token</label>
        <input id="token" ref={input} type="password" autoComplete="off" required value={token} onInput={(e) => setToken(e.currentTarget.value)} />
        <p class="muted">Kept in this tab only (session storage), sent as a bearer header; never a cookie.</p>
        <button type="submit" disabled={busy}>Sign in</button>
        <ErrorNote error={error} />
      </form>
    </main>
  )
}

const App = () => {
  const [session, setSession] = useState<{ token: string; role: "admin" | "key" } | null>(null)
  const [checking, setChecking] = useState(storedToken() !== null)
  const [reason, setReason] = useState<string | null>(null)
  const [view, setView] = useState<ViewName>(viewOfHash())
  const heading = useRef<HTMLHeadingElement>(null)
  useEffect(() => {
    const onHash = () => setView(viewOfHash())
    addEventListener("hashchange", onHash)
    return () => removeEventListener("hashchange", onHash)
  }, [])
  const signOut = (why: string | null) => {
    storeToken(null)
    setSession(null)
    setReason(why)
  }
  useEffect(() => {
    const token = storedToken()
    if (token === null) return
    whoIs(client(token, () => {})).then((role) => setSession({ token, role }), () => storeToken(null)).finally(() => setChecking(false))
  }, [])
  const firstView = useRef(true)
  useEffect(() => {
    document.title = `${VIEWS[view].title} · mm-gateway console`
    // A new view takes the focus to its heading, so a keyboard or screen reader user starts there.
    if (firstView.current) firstView.current = false
    else document.querySelector<HTMLElement>("main h2")?.focus()
  }, [view])
  const api = useMemo(() => (session === null ? null : client(session.token, () => signOut("The token was refused: sign in again."))), [session?.token])
  if (checking) return <p role="status">Loading…</p>
  if (session === null || api === null) {
    return <SignIn reason={reason} onSignedIn={(token, role) => {
      storeToken(token)
      setSession({ token, role })
    }} />
  }
  const View = VIEWS[view].view
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => {
        e.preventDefault()
        heading.current?.focus()
      }}>Skip to content</a>
      <header class="top">
        <h1 ref={heading} tabIndex={-1}>mm-gateway console</h1>
        <nav aria-label="Views">
          <ul>
            {(Object.keys(VIEWS) as Array<ViewName>).map((name) => (
              <li key={name}><a href={`#/${name}`} aria-current={name === view ? "page" : undefined}>{VIEWS[name].title}</a></li>
            ))}
          </ul>
        </nav>
        <p class="who">
          Signed in as <strong data-role={session.role}>{session.role === "admin" ? "admin" : "API key"}</strong> · times in {timeZone()}{" "}
          <button type="button" onClick={() => signOut(null)}>Sign out</button>
        </p>
      </header>
      <main id="main">
        <View api={api} admin={session.role === "admin"} />
      </main>
    </>
  )
}

render(<App />, document.getElementById("app")!)
