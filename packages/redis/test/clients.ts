// Real clients against the Redis at REDIS_URL (default redis://127.0.0.1:6379). A missing
// Redis fails the tests: it is never silently skipped.
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { createClient } from 'redis'
import { createClient as createClient4 } from 'redis4'

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A prefix no other run uses, so tests never see each other's keys. */
export const uniquePrefix = (label: string): string => `sec-test:${label}:${randomUUID()}:`

export async function ioredis(): Promise<Redis> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await client.connect()
  return client
}

export async function nodeRedis() {
  const client = createClient({ url: REDIS_URL })
  client.on('error', () => {})
  await client.connect()
  return client
}

export async function nodeRedis4() {
  const client = createClient4({ url: REDIS_URL })
  client.on('error', () => {})
  await client.connect()
  return client
}
