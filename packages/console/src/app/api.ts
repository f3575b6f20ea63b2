/**
 * The console's client of the gateway's `/v1` API: the token is kept in this tab's session storage
 * (never a cookie, never a URL) and sent as a bearer header.
 */
const TOKEN_KEY = "mmgw.console.token"

export const storedToken = (): string | null => sessionStorage.getItem(TOKEN_KEY)
export const storeToken = (token: string | null) =>
  token === null ? sessionStorage.removeItem(TOKEN_KEY) : sessionStorage.setItem(TOKEN_KEY, token)

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message)
  }
}

export interface Client {
  readonly get: <A>(path: string) => Promise<A>
  readonly send: <A>(method: "POST" | "PUT" | "PATCH" | "DELETE", path: string, body?: unknown) => Promise<A>
  readonly text: (path: string) => Promise<string>
}

export const client = (token: string, onUnauthorized: () => void): Client => {
  const call = async <A>(method: string, path: string, body?: unknown): Promise<A> => {
    const response = await fetch(path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      credentials: "omit",
      cache: "no-store"
    })
    const text = await response.text()
    const json = text === "" ? null : (() => {
      try {
        return JSON.parse(text)
      } catch {
        return null
      }
    })()
    if (response.status === 401) onUnauthorized()
    if (!response.ok) {
      const error = json?.error
      throw new ApiError(response.status, String(error?.code ?? response.status), String(error?.message ?? `${response.status} ${response.statusText}`))
    }
    return json as A
  }
  return {
    get: (path) => call("GET", path),
    send: (method, path, body) => call(method, path, body),
    text: async (path) => {
      const response = await fetch(path, { headers: { authorization: `Bearer ${token}` }, credentials: "omit", cache: "no-store" })
      if (!response.ok) throw new ApiError(response.status, String(response.status), `${response.status} ${response.statusText}`)
      return response.text()
    }
  }
}
