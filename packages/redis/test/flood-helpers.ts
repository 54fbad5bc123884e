// Helpers of flood.test.ts: many decisions in flight at once, key listings by SCAN, INFO fields
// and Redis's clock. (Its private redis-server comes from @sec/test-kit/redis-server.)
import type { Redis } from 'ioredis'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Runs `task(i)` for i in [0, n) with `inFlight` calls pending at any time. */
export async function inParallel(
  n: number,
  inFlight: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < n) await task(next++)
  }
  await Promise.all(Array.from({ length: Math.min(n, inFlight) }, worker))
}

/** Calls `each(batch)` for every batch of keys matching `pattern`, as SCAN returns them. */
export async function scanKeys(
  redis: Redis,
  pattern: string,
  each: (keys: string[]) => Promise<void>,
): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 10_000)
    cursor = next
    if (keys.length > 0) await each(keys)
  } while (cursor !== '0')
}

/** UNLINKs every key under `prefix`; returns how many there were. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0
  await scanKeys(redis, `${prefix}*`, async (keys) => {
    deleted += await redis.unlink(...keys)
  })
  return deleted
}

/** A numeric field of INFO (`used_memory`, `evicted_keys`…). */
export async function infoField(redis: Redis, section: string, field: string): Promise<number> {
  const m = new RegExp(`^${field}:(\\d+)`, 'm').exec(await redis.info(section))
  if (m === null) throw new Error(`INFO ${section} has no ${field}`)
  return Number(m[1])
}

/** Milliseconds on Redis's clock. */
export async function redisNow(redis: Redis): Promise<number> {
  const [sec, usec] = (await redis.time()) as [number | string, number | string]
  return Number(sec) * 1000 + Math.floor(Number(usec) / 1000)
}

/** Waits until the current `windowMs` window (on Redis's clock) has at least `ms` left. */
export async function awayFromWindowEnd(redis: Redis, windowMs: number, ms: number): Promise<void> {
  const left = windowMs - ((await redisNow(redis)) % windowMs)
  if (left < ms) await sleep(left + 50)
}
