// The load generators: autocannon (default, in this process: `pnpm bench` needs nothing outside
// npm) or wrk (`--wrk`, a C program: it costs less CPU, which matters on a 2-core machine where
// the generator and the server compete for cores). Both report the same shape, including the
// generator's own CPU so a row where the generator saturated its core can be spotted.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createHistogram } from 'node:perf_hooks'
import autocannon from 'autocannon'

/**
 * CPU seconds of this process plus its reaped children (wrk, once it has exited and been
 * waited for: Linux /proc/self/stat cutime + cstime). Servers are still alive during a run,
 * so nothing else is reaped in the window.
 */
function cpuSeconds() {
  const own = process.cpuUsage()
  let children = 0
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')
    children = (Number(fields[13]) + Number(fields[14])) / 100 // cutime + cstime, USER_HZ 100
  } catch {
    // not Linux: wrk's CPU is then not counted (autocannon's always is)
  }
  return (own.user + own.system) / 1e6 + children
}

/**
 * Runs one load test. Resolves to
 * { requests, seconds, rps, p50Ms, p99Ms, non2xx, errors, cpuPercent }.
 * cpuPercent: the generator's CPU as % of one core over the run.
 */
export async function runLoad({
  url,
  seconds,
  connections = 50,
  headers = {},
  generator = 'autocannon',
}) {
  const cpu0 = cpuSeconds()
  const t0 = performance.now()
  const r =
    generator === 'wrk'
      ? await runWrk({ url, seconds, connections, headers })
      : await runAutocannon({ url, seconds, connections, headers })
  const wall = (performance.now() - t0) / 1000
  return { ...r, cpuPercent: ((cpuSeconds() - cpu0) / wall) * 100 }
}

/**
 * autocannon's own latency histogram has whole-millisecond resolution, too coarse for a
 * loopback p50 well under 1 ms: each response's time (a float, in ms) also goes into a
 * native histogram in microseconds.
 */
function runAutocannon({ url, seconds, connections, headers }) {
  const latency = createHistogram()
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      // sampleInt: autocannon stops at the first sample tick after `duration`; with its default
      // 1 s tick a 0.5 s run lasts 1 s and a 2 s run 2 or 3 s. A 100 ms tick keeps runs on time.
      { url, connections, duration: seconds, headers, pipelining: 1, sampleInt: 100 },
      (error, result) => {
        if (error) return reject(error)
        resolve({
          requests: result.requests.total,
          seconds: result.duration,
          rps: result.requests.total / result.duration,
          p50Ms: latency.count ? latency.percentile(50) / 1000 : NaN,
          p99Ms: latency.count ? latency.percentile(99) / 1000 : NaN,
          non2xx: result.non2xx,
          errors: result.errors + result.timeouts,
        })
      },
    )
    instance.on('response', (_client, _status, _bytes, ms) =>
      latency.record(Math.max(1, Math.round(ms * 1000))),
    )
  })
}

/** wrk -d takes whole seconds only; one thread (the server needs the other core). */
function runWrk({ url, seconds, connections, headers }) {
  const args = ['-t1', `-c${connections}`, `-d${Math.max(1, Math.round(seconds))}s`, '--latency']
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`)
  args.push(url)
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('error', reject)
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`wrk exited with ${code}: ${err || out}`))
      try {
        resolve(parseWrk(out))
      } catch (error) {
        reject(error)
      }
    })
  })
}

const UNIT_MS = { us: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 }

/** Parses `wrk --latency` output. Exported for the smoke test. */
export function parseWrk(text) {
  const num = (re) => {
    const m = re.exec(text)
    return m ? Number(m[1]) : undefined
  }
  const latency = (pct) => {
    const m = new RegExp(`^\\s*${pct}%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, 'm').exec(text)
    return m ? Number(m[1]) * UNIT_MS[m[2]] : NaN
  }
  const done = /(\d+) requests in ([\d.]+)(us|ms|s|m|h)/.exec(text)
  if (!done) throw new Error(`cannot parse wrk output:\n${text}`)
  const requests = Number(done[1])
  const seconds = (Number(done[2]) * UNIT_MS[done[3]]) / 1000
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text)
  return {
    requests,
    seconds,
    rps: num(/Requests\/sec:\s+([\d.]+)/) ?? requests / seconds,
    p50Ms: latency(50),
    p99Ms: latency(99),
    non2xx: num(/Non-2xx or 3xx responses:\s+(\d+)/) ?? 0,
    errors: sock ? sock.slice(1).reduce((n, x) => n + Number(x), 0) : 0,
  }
}
