// Child-process entry of one bench server: `node server.mjs <framework> <variant>`.
// Each server runs alone in its own process so the load generator never shares its event loop.
// IPC protocol (process.send): -> { type: 'ready', port } once listening, or { type: 'error' };
// <- { type: 'stats' } answered with peak RSS (getrusage maxrss, the same number as
// /proc/<pid>/status VmHWM, but portable), the CPU time this process has used (user + system,
// µs: the runner divides the difference over a run by its requests) and the Redis socket writes
// counted so far.
import { redisStats } from './servers/common.mjs'

const [framework, variant] = process.argv.slice(2)

const cpuMicros = () => {
  const { user, system } = process.cpuUsage()
  return user + system
}

// If the runner dies (even by SIGKILL) the IPC channel closes: never outlive it.
process.on('disconnect', () => process.exit(0))
process.on('message', (message) => {
  if (message?.type !== 'stats') return
  process.send({
    type: 'stats',
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    rssBytes: process.memoryUsage().rss,
    cpuMicros: cpuMicros(),
    redisWrites: redisStats.writes,
  })
})

try {
  const { start, variants } = await import(`./servers/${framework}.mjs`)
  if (!variants[variant]) throw new Error(`unknown variant ${framework}/${variant}`)
  const port = await start(variant)
  process.send({ type: 'ready', port })
} catch (error) {
  process.send({ type: 'error', message: error?.stack ?? String(error) }, () => process.exit(1))
}
