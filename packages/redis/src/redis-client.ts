// The two Redis clients users already have, behind one small interface. Structural types only:
// @sec/redis imports neither client, so it works with the versions the app uses.

/** ioredis `Redis` or `Cluster` (and Valkey through either). */
export interface IoRedisLike {
  evalsha(sha: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>
  eval(script: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>
  readonly isCluster?: boolean
}

/** node-redis v4+ client or cluster (`createClient()` / `createCluster()`). */
export interface NodeRedisLike {
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>
}

export type RedisClientLike = IoRedisLike | NodeRedisLike

/** What the store needs from any client: run a cached script, or the script itself. */
export interface ScriptRunner {
  readonly cluster: boolean
  evalsha(sha: string, keys: string[], args: string[]): Promise<unknown>
  eval(script: string, keys: string[], args: string[]): Promise<unknown>
}

function isNodeRedis(client: RedisClientLike): client is NodeRedisLike {
  return typeof (client as NodeRedisLike).evalSha === 'function'
}

function isIoRedis(client: RedisClientLike): client is IoRedisLike {
  return typeof (client as IoRedisLike).evalsha === 'function'
}

export function scriptRunner(client: RedisClientLike): ScriptRunner {
  if (client === null || typeof client !== 'object') {
    throw new TypeError('@sec/redis: client must be an ioredis or node-redis (v4+) client')
  }
  if (isNodeRedis(client)) {
    const bag = client as unknown as {
      masters?: unknown
      getSlotRandomNode?: unknown
      sendCommand?: unknown
    }
    const cluster = Array.isArray(bag.masters) || typeof bag.getSlotRandomNode === 'function'
    if (cluster && typeof bag.sendCommand === 'function') {
      // node-redis v4's cluster routes evalSha/eval by the script, not the first key
      // (redis/node-redis#2811): every call hits a random master, is MOVED, and under load
      // fails. Its cluster `sendCommand(firstKey, isReadonly, args)` (same in v5) routes right.
      const send = bag.sendCommand as (
        key: string | undefined,
        ro: boolean,
        args: string[],
      ) => Promise<unknown>
      const run = (cmd: string, body: string, keys: string[], args: string[]) =>
        send.call(client, keys[0], false, [cmd, body, String(keys.length), ...keys, ...args])
      return {
        cluster,
        evalsha: (sha, keys, args) => run('EVALSHA', sha, keys, args),
        eval: (script, keys, args) => run('EVAL', script, keys, args),
      }
    }
    return {
      cluster,
      evalsha: (sha, keys, args) => client.evalSha(sha, { keys, arguments: args }),
      eval: (script, keys, args) => client.eval(script, { keys, arguments: args }),
    }
  }
  if (isIoRedis(client)) {
    return {
      cluster: client.isCluster === true,
      evalsha: (sha, keys, args) => client.evalsha(sha, keys.length, ...keys, ...args),
      eval: (script, keys, args) => client.eval(script, keys.length, ...keys, ...args),
    }
  }
  throw new TypeError('@sec/redis: client must be an ioredis or node-redis (v4+) client')
}

/** Attaches an 'error' listener when the app has none: an unlistened 'error' event crashes Node. */
export function guardErrors(client: RedisClientLike, onError: (error: unknown) => void): void {
  const emitter = client as unknown as {
    listenerCount?: (event: string) => number
    on?: (event: string, listener: (error: unknown) => void) => unknown
  }
  if (typeof emitter.on !== 'function' || typeof emitter.listenerCount !== 'function') return
  if (emitter.listenerCount('error') === 0) emitter.on('error', onError)
}
