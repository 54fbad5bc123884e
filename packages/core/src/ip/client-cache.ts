import { formatIp, type IpAddress } from './ip-address.js'
import type { HeaderReader } from '../request/headers.js'
import type { ClientIpResolver } from './client-ip.js'

/** A resolved client: the address and its canonical text ('' when unknown). */
export interface ResolvedClient {
  readonly ip: IpAddress | undefined
  readonly text: string
  /**
   * What rules derive from the client alone (a rate limit's store keys), by slot: computed on a
   * client's first request and reused for as long as the client stays cached. Slots are handed
   * out per engine (`CompileEnv.memoSlot`).
   */
  readonly memo: unknown[]
}

const MAX_ENTRIES = 10_000

/**
 * Resolves the client of each request. When no proxy is trusted the client is the socket peer,
 * and a keep-alive connection sends the same peer string again and again: parsing and
 * formatting it once per distinct peer (bounded, cleared when full) saves both per request.
 */
export type ClientLookup = (remoteAddress: unknown, headers: HeaderReader) => ResolvedClient

export function createClientLookup(resolver: ClientIpResolver): ClientLookup {
  const peers = new Map<string, ResolvedClient>()
  // One per engine, not shared: rules write their memo into it.
  const unknown: ResolvedClient = { ip: undefined, text: '', memo: [] }
  const resolve = (
    remote: string | undefined,
    header: readonly string[] | undefined,
  ): ResolvedClient => {
    const ip = resolver.resolve(remote, header)
    return ip === undefined ? unknown : { ip, text: formatIp(ip), memo: [] }
  }
  return (remoteAddress, headers) => {
    const remote = typeof remoteAddress === 'string' ? remoteAddress : undefined
    if (resolver.readsHeader) return resolve(remote, headers.all(resolver.header))
    if (remote === undefined) return unknown
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
