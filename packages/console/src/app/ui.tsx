import type { ComponentChildren } from "preact"
import { useCallback, useEffect, useRef, useState } from "preact/hooks"
import type { Client } from "./api.js"

export interface Loaded<A> {
  readonly data: A | null
  readonly error: string | null
  readonly reload: () => void
}

/** Loads `load` now and every `everyMs` (0: once) while the view is shown, so the page follows the gateway without a reload. */
export const usePoll = <A,>(load: () => Promise<A>, everyMs: number, deps: ReadonlyArray<unknown>): Loaded<A> => {
  const [data, setData] = useState<A | null>(null)
  const [error, setError] = useState<string | null>(null)
  const alive = useRef(true)
  const run = useCallback(() => {
    load().then(
      (a) => {
        if (!alive.current) return
        setData(a)
        setError(null)
      },
      (e: unknown) => alive.current && setError(e instanceof Error ? e.message : String(e))
    )
  }, deps)
  useEffect(() => {
    alive.current = true
    run()
    const timer = everyMs > 0 ? setInterval(run, everyMs) : undefined
    return () => {
      alive.current = false
      if (timer !== undefined) clearInterval(timer)
    }
  }, [run, everyMs])
  return { data, error, reload: run }
}

export interface ViewProps {
  readonly api: Client
  readonly admin: boolean
}

export const Empty = ({ children }: { children: ComponentChildren }) => <p class="empty" role="status">{children}</p>

export const ErrorNote = ({ error }: { error: string | null }) =>
  error === null ? null : <p class="error" role="alert">{error}</p>

/** Runs an action, showing "working", then its outcome next to the button. */
export const useAction = () => {
  const [state, setState] = useState<{ busy: boolean; message: string | null; failed: boolean }>({ busy: false, message: null, failed: false })
  const run = async (action: () => Promise<string>) => {
    setState({ busy: true, message: null, failed: false })
    try {
      setState({ busy: false, message: await action(), failed: false })
    } catch (e) {
      setState({ busy: false, message: e instanceof Error ? e.message : String(e), failed: true })
    }
  }
  return { ...state, run }
}

export const Outcome = ({ message, failed }: { message: string | null; failed: boolean }) =>
  message === null ? null : <span class={failed ? "outcome error" : "outcome"} role={failed ? "alert" : "status"}>{message}</span>

export const StatusBadge = ({ status }: { status: string }) => <span class={`badge badge-${status}`}>{status.replace(/_/g, " ")}</span>
