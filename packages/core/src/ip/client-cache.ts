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
 * formatting it once per distinct peer saves both per request.
 *
 * The cache is two generations of at most MAX_ENTRIES each: when the recent one is full it
 * becomes the older one (the one before is dropped), and a peer found in the older one moves
 * back to the recent one. A cache simply cleared when full misses on every request once the
 * peers in rotation outnumber it by one (10,001 clients in turn: each is evicted just before
 * it comes back); two generations keep every peer of a working set up to MAX_ENTRIES, and most
 * of one up to twice that, in at most 2 × MAX_ENTRIES entries.
 */
export type ClientLookup = (remoteAddress: unknown, headers: HeaderReader) => ResolvedClient

export function createClientLookup(resolver: ClientIpResolver): ClientLookup {
  let recent = new Map<string, ResolvedClient>()
  let older = new Map<string, ResolvedClient>()
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
    let hit = recent.get(remote)
    if (hit !== undefined) return hit
    // From the older generation the same object comes back, with the memo rules keep in it.
    hit = older.get(remote) ?? resolve(remote, undefined)
    if (remote.length <= 64) {
      if (recent.size >= MAX_ENTRIES) {
        older = recent
        recent = new Map()
      }
      recent.set(remote, hit)
    }
    return hit
  }
}
