// The shared table of @sec/core/testing: MemoryStore passes it in core; RedisStore must give
// the same decisions for the same requests at the same times, with every client kind.
import { runStoreCase, storeCases } from '@sec/core/testing'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { RedisStore } from '../dist/index.js'
import { ioredis, nodeRedis, nodeRedis4, uniquePrefix } from './clients.js'

type Client = Awaited<ReturnType<typeof ioredis | typeof nodeRedis | typeof nodeRedis4>>
const clients: Record<string, Client> = {}

beforeAll(async () => {
  clients.ioredis = await ioredis()
  clients['node-redis'] = await nodeRedis()
  clients['node-redis v4'] = await nodeRedis4()
})
afterAll(async () => {
  for (const client of Object.values(clients)) await client.quit()
})

describe.each(['ioredis', 'node-redis', 'node-redis v4'])('RedisStore with %s', (name) => {
  it.each(storeCases.map((c) => [c.name, c] as const))('%s', async (_name, storeCase) => {
    const prefix = uniquePrefix('cases')
    await runStoreCase(
      (clock) => new RedisStore({ client: clients[name]!, prefix, now: clock }),
      storeCase,
    )
  })
})
