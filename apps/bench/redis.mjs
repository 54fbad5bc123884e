// The runner's view of Redis: is it there, what did the contenders make it do (INFO
// commandstats deltas, as in packages/redis/bench/redis-store.mjs), and removing every key a
// run wrote (all under one run prefix). Anything else using the same Redis at the time (tests,
// other benches) also shows up in commandstats: the client-side write count does not.
import { Redis } from 'ioredis'

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const SCRIPT_COMMANDS = new Set(['evalsha', 'eval', 'evalsha_ro', 'eval_ro', 'fcall', 'fcall_ro'])

/** Connects within ~2 s or resolves to undefined (Redis rows are then skipped, and said so). */
export async function connectRedis(url = REDIS_URL) {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  client.on('error', () => {}) // reported through connect()'s rejection
  try {
    await client.connect()
    await client.ping()
    return client
  } catch {
    client.disconnect()
    return undefined
  }
}

/** Map of command name -> calls (INFO commandstats; rejected calls count: they were sent). */
export async function commandStats(client) {
  const out = new Map()
  for (const line of (await client.info('commandstats')).split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)(?:.*?rejected_calls=(\d+))?/.exec(line.trim())
    if (m) out.set(m[1], Number(m[2]) + Number(m[3] ?? 0))
  }
  return out
}

/**
 * Commands between two snapshots, without the INFO calls themselves: total (every command
 * Redis ran, including those inside Lua scripts and a MULTI/EXEC's parts) and scripts.
 */
export function commandDelta(before, after) {
  let total = 0
  let scripts = 0
  for (const [name, calls] of after) {
    if (name === 'info') continue
    const d = calls - (before.get(name) ?? 0)
    total += d
    if (SCRIPT_COMMANDS.has(name)) scripts += d
  }
  return { total, scripts }
}

/** Removes every key under `prefix` (SCAN + UNLINK). Resolves to the number removed. */
export async function removeKeys(client, prefix) {
  let cursor = '0'
  let removed = 0
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    cursor = next
    if (keys.length > 0) removed += await client.unlink(...keys)
  } while (cursor !== '0')
  return removed
}

/**
 * CPU seconds Redis has used (INFO cpu: used_cpu_sys + used_cpu_user, main thread and any I/O
 * threads). Over a run, divided by its requests: what each request cost Redis, which req/s on a
 * shared 2-core machine does not show on its own.
 */
export async function cpuSeconds(client) {
  const info = await client.info('cpu')
  const field = (name) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN)
  return field('used_cpu_sys') + field('used_cpu_user')
}
