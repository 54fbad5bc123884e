// Redis CPU per call of the rate-limit script: usec_per_call of EVALSHA in INFO commandstats
// (the script with the commands it runs: TIME, GET, SET), the number that grows with every Lua
// operation. Interleaved rounds, median per variant. No client time is in it
// (bench/redis-store.mjs measures whole decisions).
//   script      src/rate-limit.lua.ts as it is in the working tree (no build needed)
//   script@REF  the same file at git revision REF (BEFORE=REF): before/after in one run
//   the reference scripts, same load, one key per call:
//   ref: TIME GET SET   the script's three commands with trivial Lua around them
//   ref: empty          returns 4 numbers, no command: the cost of EVALSHA itself
//   ref: INCR PTTL      @fastify/rate-limit's script
// Scenarios (SCENARIOS=fixed,sliding,token,multi): one check of each algorithm, and one call of
// three checks (fixed, sliding, token: the loop that builds the reply). Limits are never
// reached; windows are a minute; calls spread over IPS keys (a token bucket one token short of
// full expires within a millisecond, so its state is mostly fresh).
//
//   node bench/script-cost.mjs
//   BEFORE=HEAD ROUNDS=3 N=100000 CONCURRENCY=50 IPS=1000 REDIS_URL=redis://127.0.0.1:6379
//   EXTRA='{"name":"/path/file.lua"}'   more variants, Lua files taking the script's arguments
// Reads EVALSHA's counters before and after each measurement: anything else running scripts on
// that Redis at the same time is counted too. Keys are under `secbench:script-cost:<pid>:`.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const ROUNDS = Number(process.env.ROUNDS ?? 3)
const N = Number(process.env.N ?? 100_000)
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 50)
const IPS = Number(process.env.IPS ?? 1000)
const SCENARIOS = (process.env.SCENARIOS ?? 'fixed,sliding,token,multi').split(',')
const RUN = `secbench:script-cost:${process.pid}:`
const LIMIT = '1000000000'
const WINDOW = '60000'

const SOURCE = fileURLToPath(new URL('../src/rate-limit.lua.ts', import.meta.url))
/** The Lua text of rate-limit.lua.ts (a template literal without substitutions). */
function luaOf(ts) {
  const match = /RATE_LIMIT_LUA = `([^`]*)`/.exec(ts)
  if (!match) throw new Error('RATE_LIMIT_LUA not found')
  return match[1]
}

const CHECK = { fixed: '1', sliding: '2', token: '3' }
/** Keys and arguments of one call of the rate-limit script, for key number i. */
function scriptCall(scenario, i) {
  const algorithms = scenario === 'multi' ? ['fixed', 'sliding', 'token'] : [scenario]
  const keys = algorithms.map((a) => `${RUN}${scenario}:${a}:{${i}}`)
  const args = ['', ...algorithms.flatMap((a) => [CHECK[a], LIMIT, WINDOW, '1'])]
  return [keys, args]
}

const variants = [] // { name, lua, call(scenario, i) → [keys, args], perScenario }
variants.push({ name: 'script', lua: luaOf(readFileSync(SOURCE, 'utf8')), call: scriptCall })
if (process.env.BEFORE) {
  const ref = process.env.BEFORE
  const ts = execFileSync('git', ['show', `${ref}:./rate-limit.lua.ts`], {
    cwd: fileURLToPath(new URL('../src/', import.meta.url)),
    encoding: 'utf8',
  })
  variants.push({ name: `script@${ref}`, lua: luaOf(ts), call: scriptCall })
}
for (const [name, file] of Object.entries(JSON.parse(process.env.EXTRA ?? '{}'))) {
  variants.push({ name, lua: readFileSync(file, 'utf8'), call: scriptCall })
}
const oneKey = (name, args) => (_scenario, i) => [[`${RUN}${name}:{${i}}`], args]
const references = [
  {
    name: 'ref: TIME GET SET',
    lua: `local t = redis.call('TIME')
local raw = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], '12345678901234567', 'PX', '60000')
return {1, 2, 3, 4}`,
    call: oneKey('floor', []),
  },
  { name: 'ref: empty', lua: 'return {1, 2, 3, 4}', call: oneKey('empty', []) },
  {
    name: 'ref: INCR PTTL',
    lua: `local current = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -1 or (ARGV[3] == 'true' and current > tonumber(ARGV[1])) then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
  ttl = tonumber(ARGV[2])
end
return {current, ttl}`,
    call: oneKey('incr', [LIMIT, WINDOW, 'false']),
  },
]

const redis = new Redis(REDIS_URL, { lazyConnect: true })
await redis.connect()

async function evalshaStats() {
  const m = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(await redis.info('commandstats'))
  return m ? { calls: Number(m[1]), usec: Number(m[2]) } : { calls: 0, usec: 0 }
}

/** usec_per_call of EVALSHA over N calls of `variant` in `scenario`. */
async function measure(variant, scenario) {
  const sha = await redis.script('LOAD', variant.lua)
  const before = await evalshaStats()
  let next = 0
  const worker = async () => {
    while (next < N) {
      const [keys, args] = variant.call(scenario, next++ % IPS)
      await redis.evalsha(sha, keys.length, ...keys, ...args)
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  const after = await evalshaStats()
  return (after.usec - before.usec) / (after.calls - before.calls)
}

async function cleanUp() {
  for await (const keys of redis.scanStream({ match: `${RUN}*`, count: 1000 })) {
    if (keys.length > 0) await redis.unlink(...keys)
  }
}

const info = await redis.info('server')
const version = /(redis|valkey)_version:(\S+)/.exec(info)
console.log(
  `${version ? `${version[1]} ${version[2]}` : 'server'}: usec per EVALSHA, ${N} calls per measurement, ` +
    `${CONCURRENCY} in flight, ${IPS} keys, ${ROUNDS} rounds`,
)
const results = new Map() // label → number[]
const record = (label, value) => {
  if (!results.has(label)) results.set(label, [])
  results.get(label).push(value)
}
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const scenario of SCENARIOS) {
      // Alternate the order, so a drift in machine speed does not favour one variant.
      for (const v of round % 2 ? [...variants].reverse() : variants)
        record(`${scenario.padEnd(8)} ${v.name}`, await measure(v, scenario))
    }
    for (const v of references) record(`${'-'.padEnd(8)} ${v.name}`, await measure(v, '-'))
    await cleanUp()
  }
} finally {
  await cleanUp()
  redis.disconnect()
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
for (const [label, xs] of results) {
  const rounds = xs.map((x) => x.toFixed(2)).join(' ')
  console.log(`${label.padEnd(36)} median ${median(xs).toFixed(2)}   (${rounds})`)
}
