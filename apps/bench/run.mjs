// The one command: `pnpm bench` (full, RESULTS.md) or `pnpm bench:quick` (RESULTS.quick.md).
//   node run.mjs [--quick] [--wrk] [--rounds N] [--duration S] [--warmup S] [--connections N]
//                [--only text,text] [--no-core] [--no-http] [--no-redis] [--out FILE]
// Full: core micro-benchmarks, then every HTTP contender in 3 interleaved rounds of 5 s.
// Quick: core with a shorter budget, then bare / seed+log / rate-limit-memory for each
// framework, one round of 2 s, no Redis. Everything is bounded in time, load goes only to
// 127.0.0.1, and every child is killed on exit or Ctrl-C.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { CONTENDERS } from './contenders.mjs'
import { killAll } from './processes.mjs'
import { REDIS_URL, connectRedis, removeKeys } from './redis.mjs'
import { renderReport } from './report.mjs'
import { runRounds } from './rounds.mjs'

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    wrk: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string', default: '50' },
    only: { type: 'string' },
    'no-core': { type: 'boolean', default: false },
    'no-http': { type: 'boolean', default: false },
    'no-redis': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
})

const quick = flags.quick
const opts = {
  rounds: Number(flags.rounds ?? (quick ? 1 : 3)),
  seconds: Number(flags.duration ?? (quick ? 2 : 5)),
  warmupSeconds: Number(flags.warmup ?? (quick ? 0.5 : 1)),
  connections: Number(flags.connections),
  generator: flags.wrk ? 'wrk' : 'autocannon',
  redisUrl: REDIS_URL,
  // One prefix per run: every key any contender writes starts with it, and is removed at the end.
  redisPrefix: `secbench:${process.pid}:${Date.now()}:`,
}
// wrk takes whole seconds only: say in the report what it actually ran.
if (opts.generator === 'wrk') {
  opts.seconds = Math.max(1, Math.round(opts.seconds))
  opts.warmupSeconds = opts.warmupSeconds > 0 ? Math.max(1, Math.round(opts.warmupSeconds)) : 0
}
// --out is a path as typed, relative to where the command was typed: `pnpm bench` runs this
// script in apps/bench, and tells the directory it was started from in INIT_CWD. The default
// sits beside this file.
const outFile =
  flags.out !== undefined
    ? resolve(process.env.INIT_CWD ?? process.cwd(), flags.out)
    : fileURLToPath(new URL(quick ? 'RESULTS.quick.md' : 'RESULTS.md', import.meta.url))
// Fail now, not after minutes of measuring, when the report cannot be written there.
if (!existsSync(dirname(outFile))) {
  console.error(`--out: the folder ${dirname(outFile)} does not exist`)
  process.exit(2)
}
const started = performance.now()
const log = (...a) => console.log(...a)

if (flags.wrk && spawnSync('wrk', ['-v']).error) {
  console.error('--wrk: `wrk` is not on PATH (Debian: apt-get install wrk)')
  process.exit(2)
}

// Children die with us: on normal exit, on Ctrl-C / SIGTERM (after removing our Redis keys).
let coreChild
let redis
process.on('exit', () => {
  killAll()
  coreChild?.kill('SIGKILL')
})
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    console.error(`\n${signal}: stopping servers…`)
    killAll()
    coreChild?.kill('SIGKILL')
    if (redis) {
      await Promise.race([
        removeKeys(redis, opts.redisPrefix),
        new Promise((r) => setTimeout(r, 2_000)),
      ]).catch(() => {})
      redis.disconnect()
    }
    process.exit(130)
  })
}

/** Core benchmarks in a fresh child (its own heap and JIT state); JSON on stdout. */
function runCore() {
  return new Promise((resolve) => {
    const args = [
      fileURLToPath(new URL('./core.mjs', import.meta.url)),
      '--json',
      ...(quick ? ['--quick'] : []),
    ]
    coreChild = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    const timer = setTimeout(() => coreChild.kill('SIGKILL'), 10 * 60_000)
    coreChild.stdout.on('data', (d) => (out += d))
    coreChild.on('close', (code, signal) => {
      clearTimeout(timer)
      coreChild = undefined
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()))
      } catch {
        resolve({ error: `core.mjs exited with ${code ?? signal}` })
      }
    })
  })
}

async function main() {
  const loadBefore = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')
  const notes = []
  if (os.loadavg()[0] > 0.5) {
    notes.push(
      `The machine was not idle when the run started (1-min load average ${os.loadavg()[0].toFixed(2)}): other work competes for the same cores, so absolute numbers are low and noisy; ratios within a round hold up better.`,
    )
  }
  log(
    `sec bench (${quick ? 'quick' : 'full'}): node ${process.version}, ${os.cpus()[0]?.model} × ${os.cpus().length}, load ${loadBefore}`,
  )

  let core
  if (!flags['no-core']) {
    log('\n== core (mitata)')
    core = await runCore()
  }

  let contenders = []
  let entries = []
  let redisNote = 'not used (--quick skips Redis)'
  if (!flags['no-http']) {
    contenders = CONTENDERS.filter((c) => !quick || c.quick)
    if (flags.only) {
      const wanted = flags.only.split(',')
      contenders = contenders.filter(
        (c) => c.variant === 'bare' || wanted.some((w) => c.id.includes(w)),
      )
    }
    if (flags['no-redis']) {
      contenders = contenders.filter((c) => !c.redis)
      redisNote = 'skipped (--no-redis)'
    } else if (contenders.some((c) => c.redis)) {
      redis = await connectRedis()
      if (redis) {
        const version = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1]
        redisNote = `Redis ${version} at ${REDIS_URL}, key prefix ${opts.redisPrefix} (removed at the end)`
      } else {
        contenders = contenders.filter((c) => !c.redis)
        redisNote = `not reachable at ${REDIS_URL}: the Redis rows were skipped (start one, or set REDIS_URL)`
        notes.push(`Redis ${redisNote}.`)
        console.error(`Redis ${redisNote}`)
      }
    }
    const perRun = opts.warmupSeconds + opts.seconds + 0.5
    log(
      `\n== HTTP: ${contenders.length} contenders × ${opts.rounds} round(s) × ${opts.seconds} s ` +
        `(${opts.generator}, ${opts.connections} connections), ≈ ${Math.round(((contenders.length * opts.rounds * perRun) / 60) * 10) / 10} min`,
    )
    entries = await runRounds(contenders, { ...opts, redis }, (e) => {
      const r = e.result
      const line = r
        ? `${Math.round(r.rps).toLocaleString('en-US').padStart(8)} req/s  ${r.serverCpuUsPerRequest.toFixed(1)} µs CPU/req  p99 ${r.p99Ms.toFixed(2)} ms  RSS ${r.peakRssMb.toFixed(0)} MB  gen CPU ${Math.round(r.loadCpuPercent)}%` +
          (r.redis
            ? `  redis ${r.redis.cpuUsPerRequest.toFixed(1)} µs CPU/req, ${r.redis.commandsPerRequest.toFixed(2)} cmds/req, ${r.redis.writesPerRequest.toFixed(2)} round trips/req`
            : '') +
          (r.non2xx + r.errors ? `  !! ${r.non2xx} non-2xx, ${r.errors} errors` : '')
        : `FAILED: ${e.error.split('\n')[0]}`
      log(`  round ${e.round + 1}  ${e.contender.id.padEnd(34)} ${line}`)
    })
    if (redis) {
      const removed = await removeKeys(redis, opts.redisPrefix)
      log(`removed ${removed} bench keys from Redis`)
      redis.disconnect()
      redis = undefined
    }
  }

  const meta = {
    title: quick ? 'sec benchmark results (quick run)' : 'sec benchmark results',
    command: quick ? 'pnpm bench:quick' : 'pnpm bench',
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    generator: opts.generator === 'wrk' ? 'wrk (--wrk)' : 'autocannon 9',
    connections: opts.connections,
    seconds: opts.seconds,
    warmupSeconds: opts.warmupSeconds,
    rounds: opts.rounds,
    redis: redisNote,
    loadBefore,
    loadAfter: os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
    elapsedSeconds: (performance.now() - started) / 1000,
    notes,
  }
  const markdown = renderReport({ meta, core, contenders, entries })
  writeFileSync(outFile, markdown)
  log(`\n${markdown.split('## Raw rounds')[0].trim()}\n\nwrote ${outFile}`)
  const failed = entries.filter((e) => e.error || e.result.non2xx + e.result.errors > 0)
  if (core?.error || failed.length > 0) {
    console.error(
      `${failed.length} run(s) failed or saw non-2xx responses${core?.error ? '; core failed' : ''}: see the report`,
    )
    process.exitCode = 1
  }
}

await main()
