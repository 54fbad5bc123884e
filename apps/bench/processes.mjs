// Starting and stopping bench server children. Every child is tracked so the runner can kill
// them all on exit or Ctrl-C; the children also exit by themselves when the IPC channel closes.
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const SERVER = fileURLToPath(new URL('./server.mjs', import.meta.url))
const live = new Set()

/** Kills every server still running (synchronous: safe inside process.on('exit')). */
export function killAll() {
  for (const child of live) {
    try {
      child.kill('SIGKILL')
    } catch {
      // already gone
    }
  }
  live.clear()
}

function waitFor(child, type, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`server did not answer '${type}' within ${timeoutMs} ms`))
    }, timeoutMs)
    const onMessage = (m) => {
      if (m?.type === type) {
        cleanup()
        resolve(m)
      } else if (m?.type === 'error') {
        cleanup()
        reject(new Error(`server failed to start:\n${m.message}`))
      }
    }
    const onExit = (code, signal) => {
      cleanup()
      reject(new Error(`server exited (${code ?? signal}) before '${type}'`))
    }
    const cleanup = () => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    child.on('message', onMessage)
    child.on('exit', onExit)
  })
}

/**
 * Starts `servers/<framework>.mjs` variant in a fresh child. Resolves once it listens.
 * env: extra environment (REDIS_URL, BENCH_REDIS_PREFIX).
 */
export async function startServer(framework, variant, { env = {}, timeoutMs = 15_000 } = {}) {
  const child = fork(SERVER, [framework, variant], {
    env: { ...process.env, NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [], // not the runner's flags (vitest's loaders, --expose-gc…)
  })
  live.add(child)
  child.once('exit', () => live.delete(child))
  try {
    const { port } = await waitFor(child, 'ready', timeoutMs)
    return {
      port,
      pid: child.pid,
      url: `http://127.0.0.1:${port}`,
      /** { peakRssBytes, rssBytes, redisWrites } from inside the server. */
      stats: async () => {
        const reply = waitFor(child, 'stats', 5_000)
        child.send({ type: 'stats' })
        return reply
      },
      stop: () => stop(child),
    }
  } catch (error) {
    await stop(child)
    throw error
  }
}

function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 2_000)
    child.once('exit', () => {
      clearTimeout(timer)
      live.delete(child)
      resolve()
    })
    child.kill('SIGTERM')
  })
}
