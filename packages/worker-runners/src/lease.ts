import { randomBytes } from "node:crypto"

/**
 * The identity this process holds its leases and beats its heartbeat under: its worker id
 * (`MMGW_WORKER_ID`, a name for people, which two processes may be given by mistake), its pid and a
 * random part drawn at start. Leases compare the whole, so two processes with the same worker id are
 * two workers, each with leases of its own; a restart after a crash is a new instance too, and the
 * crashed one's leases lapse for the others to take.
 */
export const newInstanceId = (workerId: string): string => `${workerId}#${process.pid}-${randomBytes(3).toString("hex")}`

/** The worker id an instance identity was made from (a holder written without one is all worker id). */
export const workerIdOf = (instance: string): string => {
  const cut = instance.lastIndexOf("#")
  return cut === -1 ? instance : instance.slice(0, cut)
}
