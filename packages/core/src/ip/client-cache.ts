import { formatIp, type IpAddress } from './ip-address.js'
import type { HeaderReader } from '../request/headers.js'
import type { ClientIpResolver } from './client-ip.js'

/** A resolved client: the address and its canonical text ('' when unknown). */
export interface ResolvedClient {
  readonly ip: IpAddress | undefined
  readonly text: string
}

const UNKNOWN: ResolvedClient = Object.freeze({ ip: undefined, text: '' })
const MAX_ENTRIES = 10_000

/**
 * Resolves the client of each request. When no proxy is trusted the client is the socket peer,
 * and a keep-alive connection sends the same peer string again and again: parsing and
 * formatting it once per distinct peer (bounded, cleared when full) saves both per request.
 */
export type ClientLookup = (remoteAddress: unknown, headers: HeaderReader) => ResolvedClient

export function createClientLookup(resolver: ClientIpResolver): ClientLookup {
  const peers = new Map<string, ResolvedClient>()
  const resolve = (
    remote: string | undefined,
    header: readonly string[] | undefined,
  ): ResolvedClient => {
    const ip = resolver.resolve(remote, header)
    return ip === undefined ? UNKNOWN : { ip, text: formatIp(ip) }
  }
  return (remoteAddress, headers) => {
    const remote = typeof remoteAddress === 'string' ? remoteAddress : undefined
    if (resolver.readsHeader) return resolve(remote, headers.all(resolver.header))
    if (remote === undefined) return UNKNOWN
    let hit = peers.get(remote)
    if (hit === undefined) {
      hit = resolve(remote, undefined)
      if (remote.length <= 64) {
        if (peers.size >= MAX_ENTRIES) peers.clear()
        peers.set(remote, hit)
      }
    }
    return hit
  }
}
