import { createHash } from 'node:crypto'
import {
  invalidOutcome,
  normalizeLimit,
  type NormalizedLimit,
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

// A null-prototype table: an algorithm named "toString" or "__proto__" must not find a code.
const ALGORITHM_CODE: Readonly<Record<string, number | undefined>> = Object.assign(
  Object.create(null) as Record<string, number>,
  { fixedWindow: 1, slidingWindow: 2, tokenBucket: 3 },
)
const SHA = createHash('sha1').update(RATE_LIMIT_LUA).digest('hex')
/** Script arguments per check: algorithm, limit, windowMs, cost (after ARGV[1], the clock). */
const ARGS_PER_CHECK = 4
/** Check positions whose constant argument strings are remembered (see `ConstantArgs`). */
const REMEMBERED_POSITIONS = 16

interface Prepared {
  readonly keys: string[]
  /** The script's arguments: ARGV[1] (the clock, filled in when sent), then 4 per check. */
  readonly args: string[]
  /** Index of the first invalid check, if any (it is answered locally, never sent). */
  readonly invalidAt: number
}

/**
 * The argument strings of a check that only change with its policy: a rule sends the same
 * algorithm, limit and window with every request (the cost may vary, so it is not kept). One
 * entry per check position: the n-th check of a request is usually the same rule's as last time.
 */
interface ConstantArgs {
  readonly code: unknown
  readonly limit: number
  readonly windowMs: number
  readonly strings: readonly [code: string, limit: string, windowMs: string]
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
  readonly #constantArgs: (ConstantArgs | undefined)[] = []

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

  // Written with `then` rather than async functions: each async layer costs a promise and a
  // microtask per request, and this path runs on every request (bench: compare-core's async
  // store case for the engine's side).
  consume(checks: readonly RateLimitCheck[]): Promise<RateLimitOutcome[]> {
    try {
      if (!Array.isArray(checks) || checks.length === 0) return Promise.resolve([])
      const first = checks[0]
      if (this.#blocks && first && typeof first.key === 'string') {
        const left = this.#blocks.blockedFor(this.#prefix + first.key)
        if (left > 0) {
          return Promise.resolve([
            { allowed: false, remaining: 0, resetMs: left, retryAfterMs: left },
          ])
        }
      }
      const prepared = this.#prepare(checks)
      if (prepared.keys.length === 0) return Promise.resolve([invalidOutcome()])
      const sent = this.#send(prepared.keys, prepared.args)
      if (prepared.invalidAt < 0 && !this.#blocks) return sent
      return sent.then((outcomes) => this.#finish(checks, prepared, outcomes))
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
  }

  /** After the script: the local answer for an invalid check, and the block cache. */
  #finish(
    checks: readonly RateLimitCheck[],
    prepared: Prepared,
    outcomes: RateLimitOutcome[],
  ): RateLimitOutcome[] {
    const last = outcomes[outcomes.length - 1]
    if (
      prepared.invalidAt >= 0 &&
      outcomes.length === prepared.keys.length &&
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
    const args: string[] = [''] // ARGV[1], the clock: set by #run when the script is sent
    for (let i = 0; i < checks.length; i++) {
      const check = checks[i]
      const limit = check && typeof check.key === 'string' ? normalizeLimit(check) : undefined
      const code = check ? ALGORITHM_CODE[check.algorithm] : undefined
      if (!check || limit === undefined || code === undefined) return { keys, args, invalidAt: i }
      keys.push(this.#key(check))
      const constant = this.#constantArgsAt(i, code, limit)
      args.push(constant[0], constant[1], constant[2], String(limit.cost))
    }
    return { keys, args, invalidAt: -1 }
  }

  /** The algorithm, limit and windowMs strings of check `i`, reused while they stay the same. */
  #constantArgsAt(i: number, code: unknown, limit: NormalizedLimit): ConstantArgs['strings'] {
    const known = this.#constantArgs[i]
    // Compared after normalisation, so equal values always mean equal strings.
    if (
      known &&
      known.code === code &&
      known.limit === limit.limit &&
      known.windowMs === limit.windowMs
    ) {
      return known.strings
    }
    const strings = [String(code), String(limit.limit), String(limit.windowMs)] as const
    if (i < REMEMBERED_POSITIONS) {
      this.#constantArgs[i] = { code, limit: limit.limit, windowMs: limit.windowMs, strings }
    }
    return strings
  }

  /** The Redis key: prefixed, with the check's owner as a Cluster hash tag. */
  #key(check: RateLimitCheck): string {
    const { key, scope } = check
    if (!scope) return `${this.#prefix}{${key}}`
    if (key.endsWith(scope))
      return `${this.#prefix}${key.slice(0, key.length - scope.length)}{${scope}}`
    return `${this.#prefix}${key}{${scope}}`
  }

  /** Every check in one script: the common case, and the only one off a cluster. */
  #send(keys: string[], args: string[]): Promise<RateLimitOutcome[]> {
    if (!this.#runner.cluster || keys.length === 1) return this.#run(keys, args)
    const runs = slotRuns(keys)
    if (runs.length === 1) return this.#run(keys, args)
    return this.#sendBySlot(keys, args, runs)
  }

  /**
   * On a cluster a script may only touch keys of one slot: each run of same-slot keys is one
   * script, sent in order and stopping at the first denial, so "stop at the first denial" holds
   * across them.
   */
  async #sendBySlot(
    keys: string[],
    args: string[],
    runs: readonly [number, number][],
  ): Promise<RateLimitOutcome[]> {
    const outcomes: RateLimitOutcome[] = []
    for (const [from, to] of runs) {
      const runArgs = ['', ...args.slice(1 + from * ARGS_PER_CHECK, 1 + to * ARGS_PER_CHECK)]
      const batch = await this.#run(keys.slice(from, to), runArgs)
      outcomes.push(...batch)
      if (batch.length < to - from || batch[batch.length - 1]?.allowed === false) break
    }
    return outcomes
  }

  /** Runs the script for `keys`; `args[0]` is overwritten with the clock. */
  #run(keys: string[], args: string[]): Promise<RateLimitOutcome[]> {
    // Fail now rather than queue (see connection-state.ts): a command queued while the client
    // reconnects would count, once Redis is back, a request the engine has already answered.
    if (connectionLost(this.#client)) {
      return Promise.reject(
        new Error('@sec/redis: the Redis connection is down (the client is reconnecting)'),
      )
    }
    args[0] = this.#now ? String(Math.floor(this.#now())) : ''
    const sentAt = performance.now()
    return this.#runner.evalsha(SHA, keys, args).then(
      (reply) => parseReply(reply, keys.length),
      (error: unknown) => {
        if (!/NOSCRIPT/i.test(error instanceof Error ? error.message : String(error))) throw error
        // A call older than timeoutMs has already been answered (503, or admitted uncounted):
        // it is a command the client queued while Redis was down and sent once it came back
        // (a restarted server has no scripts, hence NOSCRIPT). Running it now would count a
        // request that was never admitted, and an outage would lock clients out afterwards.
        if (performance.now() - sentAt >= this.timeoutMs) throw error
        // First call on this server (or after SCRIPT FLUSH / a failover): EVAL caches it.
        return this.#runner
          .eval(RATE_LIMIT_LUA, keys, args)
          .then((reply) => parseReply(reply, keys.length))
      },
    )
  }
}

/** Ranges [from, to) of consecutive keys in the same cluster slot. */
function slotRuns(keys: readonly string[]): [number, number][] {
  const runs: [number, number][] = []
  let from = 0
  let slot = keySlot(keys[0]!)
  for (let i = 1; i < keys.length; i++) {
    const next = keySlot(keys[i]!)
    if (next !== slot) {
      runs.push([from, i])
      from = i
      slot = next
    }
  }
  runs.push([from, keys.length])
  return runs
}

const UNEXPECTED_REPLY = '@sec/redis: unexpected reply from the rate-limit script'

/** The script's flat reply (4 numbers per check evaluated) as outcomes. */
function parseReply(reply: unknown, sent: number): RateLimitOutcome[] {
  if (!Array.isArray(reply) || reply.length % 4 !== 0 || reply.length > sent * 4) {
    throw new Error(UNEXPECTED_REPLY)
  }
  const out: RateLimitOutcome[] = []
  for (let i = 0; i < reply.length; i += 4) {
    const allowed = Number(reply[i])
    const remaining = Number(reply[i + 1])
    const resetMs = Number(reply[i + 2])
    const retryAfterMs = Number(reply[i + 3])
    if (
      !Number.isFinite(allowed) ||
      !Number.isFinite(remaining) ||
      !Number.isFinite(resetMs) ||
      !Number.isFinite(retryAfterMs)
    ) {
      throw new Error(UNEXPECTED_REPLY)
    }
    out.push({ allowed: allowed === 1, remaining, resetMs, retryAfterMs })
  }
  return out
}
