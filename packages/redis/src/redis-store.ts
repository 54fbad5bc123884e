import { createHash } from 'node:crypto'
import {
  invalidOutcome,
  normalizeLimit,
  type RateLimitCheck,
  type RateLimitOutcome,
  type Store,
} from '@sec/core'
import { BlockCache } from './block-cache.js'
import { keySlot } from './cluster-slot.js'
import { connectionLost } from './connection-state.js'
import { RATE_LIMIT_LUA } from './rate-limit.lua.js'
import {
  guardErrors,
  scriptRunner,
  type RedisClientLike,
  type ScriptRunner,
} from './redis-client.js'

export interface RedisStoreOptions {
  /** An ioredis `Redis`/`Cluster` or a node-redis v4+ client/cluster, connected by the app. */
  client: RedisClientLike
  /** Prefix of every key. Default `sec:`. Must not contain `{` or `}`. */
  prefix?: string
  /** When Redis cannot answer in time: `closed` (default) denies with 503, `open` admits. A rule's own `failMode` wins. */
  failMode?: 'open' | 'closed'
  /** Bound on one decision's round trip, in ms. Default 500. */
  timeoutMs?: number
  /**
   * Remember keys already over their limit and refuse them locally until their retry time:
   * a flood from one client then costs no round trips. `true` or `{ maxKeys }` (default 10,000).
   */
  blockCache?: boolean | { maxKeys?: number }
  /**
   * Tests only: a clock to use instead of Redis `TIME`. In production limits must run on
   * Redis's clock, so that clock skew between instances cannot bend them.
   */
  now?: () => number
}

const ALGORITHM_CODE = { fixedWindow: 1, slidingWindow: 2, tokenBucket: 3 } as const
const SHA = createHash('sha1').update(RATE_LIMIT_LUA).digest('hex')

interface Prepared {
  readonly keys: string[]
  readonly args: string[][]
  /** Index of the first invalid check, if any (it is answered locally, never sent). */
  readonly invalidAt: number
}

/**
 * Rate-limit state in Redis (or Valkey, or Redis Cluster), shared by every instance. Each
 * decision's checks run as one Lua script, on Redis's clock, in one round trip.
 */
export class RedisStore implements Store {
  readonly failMode: 'open' | 'closed'
  readonly timeoutMs: number
  /** The last error the client emitted, when the app had no listener of its own. */
  lastError: unknown
  readonly #client: RedisClientLike
  readonly #runner: ScriptRunner
  readonly #prefix: string
  readonly #blocks: BlockCache | undefined
  readonly #now: (() => number) | undefined

  constructor(options: RedisStoreOptions) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError('@sec/redis: new RedisStore({ client }) needs options')
    }
    this.#runner = scriptRunner(options.client)
    this.#client = options.client
    const prefix = options.prefix ?? 'sec:'
    if (typeof prefix !== 'string' || /[{}]/.test(prefix)) {
      throw new TypeError('@sec/redis: prefix must be a string without { or }')
    }
    this.#prefix = prefix
    const failMode = options.failMode ?? 'closed'
    if (failMode !== 'open' && failMode !== 'closed') {
      throw new TypeError('@sec/redis: failMode must be "open" or "closed"')
    }
    this.failMode = failMode
    const timeoutMs = options.timeoutMs ?? 500
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1) {
      throw new TypeError('@sec/redis: timeoutMs must be a positive integer (milliseconds)')
    }
    this.timeoutMs = timeoutMs
    const cache = options.blockCache
    if (cache) {
      const maxKeys = typeof cache === 'object' ? (cache.maxKeys ?? 10_000) : 10_000
      if (!Number.isInteger(maxKeys) || maxKeys < 1) {
        throw new TypeError('@sec/redis: blockCache.maxKeys must be a positive integer')
      }
      this.#blocks = new BlockCache(maxKeys)
    }
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw new TypeError('@sec/redis: now must be a function')
    }
    this.#now = options.now
    guardErrors(options.client, (error) => {
      this.lastError = error
    })
  }

  async consume(checks: readonly RateLimitCheck[]): Promise<RateLimitOutcome[]> {
    if (!Array.isArray(checks) || checks.length === 0) return []
    const first = checks[0]
    if (this.#blocks && first && typeof first.key === 'string') {
      const left = this.#blocks.blockedFor(this.#prefix + first.key)
      if (left > 0) return [{ allowed: false, remaining: 0, resetMs: left, retryAfterMs: left }]
    }
    const prepared = this.#prepare(checks)
    const outcomes: RateLimitOutcome[] = []
    const sent = prepared.keys.length
    if (sent > 0) {
      for (const [from, to] of this.#runs(prepared.keys)) {
        const batch = await this.#run(prepared.keys.slice(from, to), prepared.args.slice(from, to))
        outcomes.push(...batch)
        if (batch.length < to - from || batch[batch.length - 1]?.allowed === false) break
      }
    }
    const last = outcomes[outcomes.length - 1]
    if (
      prepared.invalidAt >= 0 &&
      outcomes.length === sent &&
      (last === undefined || last.allowed)
    ) {
      outcomes.push(invalidOutcome())
    }
    if (this.#blocks && last && !last.allowed) {
      this.#blocks.block(this.#prefix + checks[outcomes.length - 1]!.key, last.retryAfterMs)
    }
    return outcomes
  }

  /** Keys and script arguments for the valid checks before the first invalid one. */
  #prepare(checks: readonly RateLimitCheck[]): Prepared {
    const keys: string[] = []
    const args: string[][] = []
    for (let i = 0; i < checks.length; i++) {
      const check = checks[i]
      const limit = check && typeof check.key === 'string' ? normalizeLimit(check) : undefined
      const code = check ? ALGORITHM_CODE[check.algorithm] : undefined
      if (!check || limit === undefined || code === undefined) return { keys, args, invalidAt: i }
      keys.push(this.#key(check))
      args.push([String(code), String(limit.limit), String(limit.windowMs), String(limit.cost)])
    }
    return { keys, args, invalidAt: -1 }
  }

  /** The Redis key: prefixed, with the check's owner as a Cluster hash tag. */
  #key(check: RateLimitCheck): string {
    const { key, scope } = check
    if (!scope) return `${this.#prefix}{${key}}`
    if (key.endsWith(scope))
      return `${this.#prefix}${key.slice(0, key.length - scope.length)}{${scope}}`
    return `${this.#prefix}${key}{${scope}}`
  }

  /**
   * Ranges of keys to send together: everything at once, except on a cluster where each run
   * of same-slot keys is one script (sent in order, so "stop at the first denial" holds).
   */
  *#runs(keys: readonly string[]): Generator<[number, number]> {
    if (!this.#runner.cluster) {
      yield [0, keys.length]
      return
    }
    let from = 0
    let slot = keySlot(keys[0]!)
    for (let i = 1; i < keys.length; i++) {
      const next = keySlot(keys[i]!)
      if (next !== slot) {
        yield [from, i]
        from = i
        slot = next
      }
    }
    yield [from, keys.length]
  }

  async #run(keys: string[], checkArgs: string[][]): Promise<RateLimitOutcome[]> {
    // Fail now rather than queue (see connection-state.ts): a command queued while the client
    // reconnects would count, once Redis is back, a request the engine has already answered.
    if (connectionLost(this.#client)) {
      throw new Error('@sec/redis: the Redis connection is down (the client is reconnecting)')
    }
    const now = this.#now ? String(Math.floor(this.#now())) : ''
    const args = [now, ...checkArgs.flat()]
    const sentAt = performance.now()
    let reply: unknown
    try {
      reply = await this.#runner.evalsha(SHA, keys, args)
    } catch (error) {
      if (!/NOSCRIPT/i.test(error instanceof Error ? error.message : String(error))) throw error
      // A call older than timeoutMs has already been answered (503, or admitted uncounted):
      // it is a command the client queued while Redis was down and sent once it came back
      // (a restarted server has no scripts, hence NOSCRIPT). Running it now would count a
      // request that was never admitted, and an outage would lock clients out afterwards.
      if (performance.now() - sentAt >= this.timeoutMs) throw error
      // First call on this server (or after SCRIPT FLUSH / a failover): EVAL caches it.
      reply = await this.#runner.eval(RATE_LIMIT_LUA, keys, args)
    }
    return parseReply(reply, keys.length)
  }
}

function parseReply(reply: unknown, sent: number): RateLimitOutcome[] {
  if (!Array.isArray(reply) || reply.length % 4 !== 0 || reply.length > sent * 4) {
    throw new Error('@sec/redis: unexpected reply from the rate-limit script')
  }
  const out: RateLimitOutcome[] = []
  for (let i = 0; i < reply.length; i += 4) {
    const [allowed, remaining, resetMs, retryAfterMs] = reply.slice(i, i + 4).map(Number)
    if (![allowed, remaining, resetMs, retryAfterMs].every((n) => Number.isFinite(n))) {
      throw new Error('@sec/redis: unexpected reply from the rate-limit script')
    }
    out.push({
      allowed: allowed === 1,
      remaining: remaining!,
      resetMs: resetMs!,
      retryAfterMs: retryAfterMs!,
    })
  }
  return out
}
