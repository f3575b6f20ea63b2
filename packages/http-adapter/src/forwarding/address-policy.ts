import { lookup } from "node:dns/promises"
import { BlockList, isIP } from "node:net"

/**
 * Where forwarding may POST (docs/forwarding.md#safe-by-default): `https` anywhere public, `http` only
 * to a host the admin allows (`MMGW_FORWARD_ALLOW_HOSTS`; development mode allows the loopback), and
 * never to a private, loopback, link-local or otherwise non-public address unless its host is allowed
 * — checked on the addresses the name resolves to, at registration and again on every connection.
 */
export interface ForwardAddressPolicy {
  /** Host names and IP literals (lower case) allowed `http` and non-public addresses. */
  readonly allowHosts: ReadonlyArray<string>
}

/** The hosts development mode allows: this machine. */
export const LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "::1"] as const

/**
 * Addresses that are not on the public internet (IANA special-purpose registries), IPv4 and IPv6. No
 * IPv4-mapped range (::ffff:0:0/96): a BlockList matches IPv4 addresses against it; mapped addresses
 * are judged by their IPv4 instead (`isPublicAddress`).
 */
const NOT_PUBLIC = (() => {
  const list = new BlockList()
  for (const [net, prefix] of [
    ["0.0.0.0", 8], ["10.0.0.0", 8], ["100.64.0.0", 10], ["127.0.0.0", 8], ["169.254.0.0", 16], ["172.16.0.0", 12],
    ["192.0.0.0", 24], ["192.0.2.0", 24], ["192.88.99.0", 24], ["192.168.0.0", 16], ["198.18.0.0", 15], ["198.51.100.0", 24],
    ["203.0.113.0", 24], ["224.0.0.0", 4], ["240.0.0.0", 4]
  ] as const) list.addSubnet(net, prefix, "ipv4")
  for (const [net, prefix] of [
    ["::", 128], ["::1", 128], ["64:ff9b::", 96], ["100::", 64], ["2001::", 23], ["2001:db8::", 32],
    ["fc00::", 7], ["fe80::", 10], ["ff00::", 8]
  ] as const) list.addSubnet(net, prefix, "ipv6")
  return list
})()

/** Whether an IP address is on the public internet (an IPv4-mapped IPv6 address is judged by its IPv4). */
export const isPublicAddress = (address: string): boolean => {
  const family = isIP(address)
  if (family === 0) return false
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped !== null) return isPublicAddress(mapped[1]!)
  return !NOT_PUBLIC.check(address, family === 4 ? "ipv4" : "ipv6")
}

/** A URL's host as compared with the allow list: lower case, IPv6 without its brackets. */
export const hostOf = (url: URL): string => url.hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1")

export const isAllowedHost = (policy: ForwardAddressPolicy, host: string): boolean => policy.allowHosts.includes(host.toLowerCase())

/** Why `text` may not be an endpoint URL, before any name is resolved; null when it may. */
export const urlProblem = (policy: ForwardAddressPolicy, text: string): string | null => {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return "must be an absolute URL"
  }
  if (url.username !== "" || url.password !== "") return "must not carry credentials"
  const host = hostOf(url)
  const allowed = isAllowedHost(policy, host)
  if (url.protocol === "http:") {
    if (!allowed) return `must be https (http only to a host in MMGW_FORWARD_ALLOW_HOSTS; ${host} is not)`
  } else if (url.protocol !== "https:") {
    return "must be https"
  }
  if (isIP(host) !== 0 && !allowed && !isPublicAddress(host)) return `must not be a private, loopback or link-local address (${host})`
  return null
}

/** Why the addresses a host resolved to may not be used; null when they may. */
export const addressProblem = (policy: ForwardAddressPolicy, host: string, addresses: ReadonlyArray<string>): string | null => {
  if (isAllowedHost(policy, host)) return null
  const blocked = addresses.find((a) => !isPublicAddress(a))
  return blocked === undefined ? null : `${host} resolves to a private, loopback or link-local address (${blocked})`
}

/**
 * Why `text` may not be registered as an endpoint URL; null when it may. The name is resolved now: a
 * name that does not resolve yet is accepted (every delivery checks again), one that resolves to a
 * non-public address is refused unless its host is allowed.
 */
export const registrationProblem = async (policy: ForwardAddressPolicy, text: string): Promise<string | null> => {
  const problem = urlProblem(policy, text)
  if (problem !== null) return problem
  const host = hostOf(new URL(text))
  if (isIP(host) !== 0 || isAllowedHost(policy, host)) return null
  try {
    const addresses = await lookup(host, { all: true })
    return addressProblem(policy, host, addresses.map((a) => a.address))
  } catch {
    return null
  }
}
