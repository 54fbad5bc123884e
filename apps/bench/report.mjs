// Turns raw measurements into RESULTS.md: medians over rounds, ratios to the same framework's
// bare server *in the same round* (so a slow round slows both), and every raw round, so the
// medians can be checked and noise seen.
import { FRAMEWORKS, SECTIONS } from './contenders.mjs'

export const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (s.length === 0) return NaN
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

const fmt = {
  int: (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–'),
  ratio: (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '–'),
  ms: (x) => (Number.isFinite(x) ? x.toFixed(2) : '–'),
  mb: (x) => (Number.isFinite(x) ? x.toFixed(1) : '–'),
  pct: (x) => (Number.isFinite(x) ? `${Math.round(x)}%` : '–'),
  per: (x) => (Number.isFinite(x) ? x.toFixed(2) : '–'),
  ns: (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–'),
  us: (x) => (Number.isFinite(x) ? x.toFixed(1) : '–'),
}

/** The generator's CPU; flagged when it had (nearly) a whole core: the row may be generator-bound. */
const genCpu = (x) => (x >= 90 ? `${fmt.pct(x)} ⚠` : fmt.pct(x))

function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`
  const align = header.map((h, i) =>
    i === 0 || /contender|framework|benchmark/i.test(h) ? '---' : '---:',
  )
  return [line(header), line(align), ...rows.map(line)].join('\n')
}

/** rps of `framework`'s bare server in each round: the ratio's denominator. */
function bareByRound(entries) {
  const out = new Map()
  for (const e of entries) {
    if (e.contender.variant === 'bare' && e.result)
      out.set(`${e.contender.framework}#${e.round}`, e.result.rps)
  }
  return out
}

/** One row per contender: medians over the rounds it completed. */
export function summarise(contenders, entries) {
  const bare = bareByRound(entries)
  return contenders.map((contender) => {
    const runs = entries.filter((e) => e.contender.id === contender.id)
    const ok = runs.filter((e) => e.result)
    const ratios = ok.map((e) => e.result.rps / bare.get(`${contender.framework}#${e.round}`))
    const redis = ok.filter((e) => e.result.redis).map((e) => e.result.redis)
    return {
      contender,
      rounds: ok.length,
      failed: runs.filter((e) => e.error).map((e) => e.error),
      rps: median(ok.map((e) => e.result.rps)),
      ratio: median(ratios),
      p50Ms: median(ok.map((e) => e.result.p50Ms)),
      p99Ms: median(ok.map((e) => e.result.p99Ms)),
      peakRssMb: median(ok.map((e) => e.result.peakRssMb)),
      loadCpuPercent: median(ok.map((e) => e.result.loadCpuPercent)),
      serverCpuUs: median(ok.map((e) => e.result.serverCpuUsPerRequest)),
      bad: ok.reduce((n, e) => n + e.result.non2xx + e.result.errors, 0),
      redis: redis.length
        ? {
            commandsPerRequest: median(redis.map((r) => r.commandsPerRequest)),
            scriptsPerRequest: median(redis.map((r) => r.scriptsPerRequest)),
            writesPerRequest: median(redis.map((r) => r.writesPerRequest)),
            cpuUsPerRequest: median(redis.map((r) => r.cpuUsPerRequest)),
          }
        : undefined,
    }
  })
}

function httpSection(key, rows) {
  const inSection = rows.filter((r) => r.contender.section === key)
  if (inSection.length === 0) return ''
  const withRedis = key === 'redis'
  const header = [
    'framework',
    'contender',
    'req/s (median)',
    '× bare',
    'server CPU µs/req',
    'p50 ms',
    'p99 ms',
    'peak RSS MB',
    'load-gen CPU',
  ]
  if (withRedis) header.push('Redis CPU µs/req', 'Redis cmds/req', 'scripts/req', 'round trips/req')
  header.push('non-2xx + errors')
  const body = []
  for (const framework of FRAMEWORKS) {
    for (const r of inSection.filter((x) => x.contender.framework === framework)) {
      const cells = [
        framework,
        r.contender.sec ? `**${r.contender.label}**` : r.contender.label,
        r.rounds ? fmt.int(r.rps) : `failed: ${r.failed[0]?.split('\n')[0] ?? 'not run'}`,
        key === 'bare' ? '1.00×' : fmt.ratio(r.ratio),
        fmt.us(r.serverCpuUs),
        fmt.ms(r.p50Ms),
        fmt.ms(r.p99Ms),
        fmt.mb(r.peakRssMb),
        genCpu(r.loadCpuPercent),
      ]
      if (withRedis) {
        cells.push(
          fmt.us(r.redis?.cpuUsPerRequest),
          fmt.per(r.redis?.commandsPerRequest),
          fmt.per(r.redis?.scriptsPerRequest),
          fmt.per(r.redis?.writesPerRequest),
        )
      }
      cells.push(String(r.bad))
      body.push(cells)
    }
  }
  return `### ${SECTIONS[key]}\n\n${table(header, body)}\n`
}

/**
 * Median over rounds of a's req/s over b's in the same round (rounds both completed): like the
 * ratio to bare, a slow round slows both sides of it.
 */
export function pairedRatio(entries, a, b) {
  const rps = (id) =>
    new Map(
      entries.filter((e) => e.contender.id === id && e.result).map((e) => [e.round, e.result.rps]),
    )
  const other = rps(b.id)
  return median([...rps(a.id)].filter(([r]) => other.has(r)).map(([r, x]) => x / other.get(r)))
}

/** CPU per request of a row: the server's, plus Redis's on the Redis rows. */
const cpuCost = (r) => (r.redis ? r.serverCpuUs + r.redis.cpuUsPerRequest : r.serverCpuUs)

/**
 * sec against the fastest alternative, per framework: the peer limiters (memory, Redis) and, for
 * the whole seed policy, the same checks written by hand. The headline comparison: req/s in the
 * same round, and what each request cost in CPU (steadier than req/s on a shared machine).
 */
function headToHead(rows, entries) {
  const body = []
  for (const framework of FRAMEWORKS) {
    for (const section of ['seed', 'memory', 'redis']) {
      const here = rows.filter(
        (r) => r.contender.framework === framework && r.contender.section === section && r.rounds,
      )
      const sec = here.find((r) => r.contender.sec)
      const peers = here.filter((r) => !r.contender.sec).sort((a, b) => b.rps - a.rps)
      if (!sec || peers.length === 0) continue
      const best = peers[0]
      body.push([
        framework,
        section === 'seed' ? 'seed policy + log (memory)' : section,
        fmt.int(sec.rps),
        `${best.contender.label} ${fmt.int(best.rps)}`,
        fmt.ratio(pairedRatio(entries, sec.contender, best.contender)),
        `${fmt.us(cpuCost(sec))} / ${fmt.us(cpuCost(best))}`,
      ])
    }
  }
  if (body.length === 0) return ''
  return (
    '### sec vs the fastest alternative\n\n' +
    'The alternative with the highest median req/s; *sec / alternative*: median over rounds of ' +
    "sec's req/s over the alternative's in the same round; *CPU µs/req*: median CPU time per " +
    'request of the server process (plus Redis on the Redis rows), sec / alternative.\n\n' +
    table(
      [
        'framework',
        'what',
        'sec req/s',
        'fastest alternative req/s',
        'sec / alternative',
        'CPU µs/req, sec / alternative',
      ],
      body,
    ) +
    '\n'
  )
}

function rawRounds(entries) {
  const bare = bareByRound(entries)
  const body = entries.map((e) => {
    const r = e.result
    if (!r)
      return [
        String(e.round + 1),
        String(e.position + 1),
        e.contender.id,
        `failed: ${e.error.split('\n')[0]}`,
        '',
        '',
        '',
        '',
        '',
        '',
        '',
      ]
    return [
      String(e.round + 1),
      String(e.position + 1),
      e.contender.id,
      fmt.int(r.rps),
      fmt.ratio(r.rps / bare.get(`${e.contender.framework}#${e.round}`)),
      fmt.us(r.serverCpuUsPerRequest),
      fmt.ms(r.p50Ms),
      fmt.ms(r.p99Ms),
      fmt.mb(r.peakRssMb),
      genCpu(r.loadCpuPercent),
      String(r.non2xx + r.errors),
    ]
  })
  return table(
    [
      'round',
      'order',
      'contender',
      'req/s',
      '× bare (same round)',
      'server CPU µs/req',
      'p50 ms',
      'p99 ms',
      'peak RSS MB',
      'load-gen CPU',
      'non-2xx + errors',
    ],
    body,
  )
}

function coreSection(core) {
  if (!core) return ''
  if (core.error) return `## Core (mitata)\n\nFailed: ${core.error}\n`
  const rows = core.results.map((r) => [
    r.name,
    fmt.int(r.perSecond),
    fmt.ns(r.avgNs),
    fmt.ns(r.p50Ns),
    fmt.ns(r.p99Ns),
  ])
  const m = core.memory
  return [
    '## Core (mitata, `@sec/core` alone, no HTTP)',
    '',
    `Each case ran for at least ${core.minCpuTimeMs} ms of CPU; decisions/s = 1 / mean time.`,
    '',
    table(['benchmark', 'decisions/s', 'mean ns', 'p50 ns', 'p99 ns'], rows),
    '',
    `**MemoryStore under ${fmt.int(m.clients)} distinct clients** (one rate-limit rule by IP, ` +
      `${fmt.int(m.storeSize)} live keys, child process with \`--expose-gc\`, measured after GC): ` +
      `heap +${fmt.mb(m.heapMb)} MB, array buffers +${fmt.mb(m.arrayBuffersMb)} MB, process RSS ` +
      `${fmt.mb(m.rssMb)} MB; filled at ${fmt.int(m.insertsPerSecond)} new clients/s.`,
    '',
  ].join('\n')
}

/**
 * The whole RESULTS.md. meta: { title, date, node, cpu, cores, generator, connections,
 * seconds, warmupSeconds, rounds, command, loadBefore, loadAfter, elapsedSeconds, notes[] }.
 */
export function renderReport({ meta, core, contenders, entries }) {
  const out = []
  out.push(`# ${meta.title}`, '')
  out.push(
    'Generated by `apps/bench/run.mjs`; do not edit by hand. Reproduce: `' +
      meta.command +
      '` from the repository root.',
    '',
  )
  out.push(
    table(
      ['', ''],
      [
        ['date', meta.date],
        ['Node', meta.node],
        [
          'CPU',
          `${meta.cpu}, ${meta.cores} cores (load average ${meta.loadBefore} before, ${meta.loadAfter} after)`,
        ],
        [
          'load generator',
          `${meta.generator}, ${meta.connections} connections to 127.0.0.1, ` +
            (meta.generator.startsWith('wrk')
              ? 'one thread, a child of the runner'
              : 'in the runner process'),
        ],
        [
          'durations',
          `${meta.rounds} interleaved round(s) × ${meta.seconds} s per contender, after ${meta.warmupSeconds} s warm-up on a fresh server`,
        ],
        ['Redis', meta.redis],
        ['total time', `${Math.round(meta.elapsedSeconds)} s`],
      ],
    ),
    '',
  )
  for (const note of meta.notes ?? []) out.push(`- ${note}`)
  if (meta.notes?.length) out.push('')
  out.push(coreSection(core))
  if (entries.length) {
    const rows = summarise(contenders, entries)
    out.push('## HTTP (one server per child process, `GET /` from a browser User-Agent)', '')
    out.push(
      "× bare: the contender's req/s over the same framework's bare server in the same round, median over rounds. " +
        "p50/p99: latency seen by the load generator. Peak RSS: the server child's maxrss (VmHWM) at the end of the run. " +
        "Server CPU µs/req: the server process's CPU time (user + system) over the measured run, divided by its requests: " +
        'what one request cost the server, which holds steadier than req/s when other work shares the machine. ' +
        "Load-gen CPU: the load generator's CPU over the measured run, % of one core; ⚠ at 90% or more: the generator, not the server, may be the limit there (try `--wrk`), which understates the gap to bare.",
      '',
    )
    out.push(headToHead(rows, entries))
    for (const key of Object.keys(SECTIONS)) out.push(httpSection(key, rows))
    if (rows.some((r) => r.contender.section === 'redis' && r.rounds)) {
      out.push(
        'Redis columns: *cmds/req* is every command Redis executed per request (INFO commandstats delta over the measured run, ' +
          "including the commands a Lua script runs and a MULTI/EXEC's parts, and anything else using that Redis meanwhile); " +
          "*scripts/req* counts EVAL/EVALSHA; *round trips/req* is the socket writes of the server's ioredis client per request " +
          '(auto-pipelining off, the same client options for every contender: one write is one request/reply exchange).',
        '',
      )
    }
    out.push('## Raw rounds', '', rawRounds(entries), '')
  }
  return out.join('\n')
}
