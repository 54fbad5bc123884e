// Interleaved rounds: in round r every contender runs once, in an order rotated by r, each on
// a fresh server child (warm-up, then the measured run). Machine noise (another job, thermal
// drift, a GC in the runner) then spreads over all contenders instead of favouring whoever ran
// first, and a contender's ratio to its bare framework compares runs taken minutes apart at most.
import { runLoad } from './load.mjs'
import { startServer } from './processes.mjs'
import { commandDelta, commandStats, cpuSeconds } from './redis.mjs'
import { REQUEST_HEADERS, REQUEST_PATH } from './contenders.mjs'

/** Round r's order: the list rotated by r * ceil(n / rounds), so positions differ per round. */
export function roundOrder(contenders, round, rounds) {
  const n = contenders.length
  if (n === 0) return []
  const shift = (round * Math.ceil(n / Math.max(1, rounds))) % n
  return [...contenders.slice(shift), ...contenders.slice(0, shift)]
}

/**
 * Measures one contender once: start, warm up, measure, collect stats, stop.
 * opts: { seconds, warmupSeconds, connections, generator, redis (runner's client or undefined),
 *         redisUrl, redisPrefix }
 */
export async function measureOnce(contender, opts) {
  const server = await startServer(contender.framework, contender.variant, {
    env: {
      REDIS_URL: opts.redisUrl,
      BENCH_REDIS_PREFIX: `${opts.redisPrefix}${contender.framework}-${contender.variant}:`,
    },
  })
  try {
    const load = (seconds) =>
      runLoad({
        url: server.url + REQUEST_PATH,
        seconds,
        connections: opts.connections,
        headers: REQUEST_HEADERS,
        generator: opts.generator,
      })
    if (opts.warmupSeconds > 0) await load(opts.warmupSeconds) // JIT, connection pools, scripts loaded
    const withRedis = contender.redis && opts.redis
    const redisBefore = withRedis ? await commandStats(opts.redis) : undefined
    const redisCpuBefore = withRedis ? await cpuSeconds(opts.redis) : NaN
    const before = await server.stats()
    const r = await load(opts.seconds)
    const stats = await server.stats()
    const redisCpuAfter = withRedis ? await cpuSeconds(opts.redis) : NaN
    const per = (x) => (r.requests > 0 ? x / r.requests : NaN)
    const result = {
      rps: r.rps,
      requests: r.requests,
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      non2xx: r.non2xx,
      errors: r.errors,
      loadCpuPercent: r.cpuPercent,
      peakRssMb: stats.peakRssBytes / 1024 / 1024,
      // The steadier measure on a shared machine: what a request cost the server, whatever
      // else slowed the round down.
      serverCpuUsPerRequest: per(stats.cpuMicros - before.cpuMicros),
    }
    if (redisBefore) {
      const d = commandDelta(redisBefore, await commandStats(opts.redis))
      result.redis = {
        commandsPerRequest: per(d.total),
        scriptsPerRequest: per(d.scripts),
        writesPerRequest: per(stats.redisWrites - before.redisWrites),
        cpuUsPerRequest: per((redisCpuAfter - redisCpuBefore) * 1e6),
      }
    }
    return result
  } finally {
    await server.stop()
  }
}

/**
 * Runs every round. onResult(entry) is called after each measurement (progress output).
 * Resolves to the raw entries: { round, position, contender, result | error }.
 * A contender that fails (does not start, answers errors) is recorded, not fatal: the other
 * rows are still worth having, and the report says what failed.
 */
export async function runRounds(contenders, opts, onResult = () => {}) {
  const entries = []
  for (let round = 0; round < opts.rounds; round++) {
    const order = roundOrder(contenders, round, opts.rounds)
    for (let position = 0; position < order.length; position++) {
      const contender = order[position]
      const entry = { round, position, contender }
      try {
        entry.result = await measureOnce(contender, opts)
      } catch (error) {
        entry.error = error?.message ?? String(error)
      }
      entries.push(entry)
      onResult(entry)
    }
  }
  return entries
}
