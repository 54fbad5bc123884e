// @sec/redis: exact shared rate limits across instances, on Redis, Valkey and Redis Cluster.
export { RedisStore } from './redis-store.js'
export type { RedisStoreOptions } from './redis-store.js'
export type { RedisClientLike, IoRedisLike, NodeRedisLike } from './redis-client.js'
export { keySlot } from './cluster-slot.js'
