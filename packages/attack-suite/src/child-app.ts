// Starts an app under attack (src/child/app.mjs) in its own Node process and watches it: every
// byte it writes to stdout and stderr, every fault it reports over IPC (unhandled rejection,
// uncaught exception, process warning), and whether it exits. A test stops it with stop().
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { ChildConfig, ChildMessage, Fault, ParentMessage } from './protocol.js'

const ENTRY = fileURLToPath(new URL('./child/app.mjs', import.meta.url))

export interface ChildApp {
  readonly port: number
  readonly url: string
  /** Faults the child reported (each one is a bug: the test fails on any). */
  readonly faults: readonly Fault[]
  /** Everything written to stdout so far. */
  stdout(): string
  /** Everything written to stderr so far. */
  stderr(): string
  /** How it ended, if it did before stop(): `exit code N` or `signal S`. */
  exited(): string | undefined
  /** heapUsed after two full GCs, in bytes. */
  heapUsed(): Promise<number>
  /** Decisions made so far, by code. */
  decisionCodes(): Promise<Record<string, number>>
  /** Kills the child (SIGKILL) and waits for it to be gone. */
  stop(): Promise<void>
}

const live = new Set<ChildProcess>()

/** Kills every child still running: for afterAll, so a failed test leaves no process behind. */
export async function stopAllChildren(): Promise<void> {
  await Promise.all([...live].map((child) => killChild(child)))
}

function killChild(child: ChildProcess): Promise<void> {
  live.delete(child)
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGKILL')
  })
}

function request<T extends ChildMessage['type']>(
  child: ChildProcess,
  message: ParentMessage,
  answer: T,
  timeoutMs = 15_000,
): Promise<Extract<ChildMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`the app did not answer '${message.type}' within ${timeoutMs} ms`))
    }, timeoutMs)
    const onMessage = (m: ChildMessage) => {
      if (m.type !== answer) return
      cleanup()
      resolve(m as Extract<ChildMessage, { type: T }>)
    }
    const onExit = () => {
      cleanup()
      reject(new Error(`the app exited before answering '${message.type}'`))
    }
    const cleanup = () => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    child.on('message', onMessage)
    child.once('exit', onExit)
    child.send(message)
  })
}

/** Forks the app and resolves once it listens on 127.0.0.1. */
export async function startChildApp(
  config: ChildConfig,
  startTimeoutMs = 30_000,
): Promise<ChildApp> {
  const child = fork(ENTRY, [JSON.stringify(config)], {
    // Not the test runner's own flags (vitest's loaders): a plain Node with a callable gc().
    execArgv: ['--expose-gc'],
    // The production setting: Express and Koa print errors to stderr there (not under 'test').
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  })
  live.add(child)
  let stdout = ''
  let stderr = ''
  let exit: string | undefined
  const faults: Fault[] = []
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text))
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text))
  child.on('message', (m: ChildMessage) => {
    if (m.type === 'fault') faults.push(m.fault)
  })
  child.once('exit', (code, signal) => {
    exit = signal ? `signal ${signal}` : `exit code ${code}`
  })

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new Error(`${config.adapter} app did not start within ${startTimeoutMs} ms\n${stderr}`),
      )
    }, startTimeoutMs)
    const onMessage = (m: ChildMessage) => {
      if (m.type === 'ready') {
        clearTimeout(timer)
        resolve(m.port)
      } else if (m.type === 'startup-error') {
        clearTimeout(timer)
        reject(new Error(`${config.adapter} app failed to start: ${m.message}`))
      }
    }
    child.on('message', onMessage)
    child.once('exit', () => {
      clearTimeout(timer)
      reject(new Error(`${config.adapter} app exited during start (${exit})\n${stderr}`))
    })
  }).catch(async (error: unknown) => {
    await killChild(child)
    throw error
  })

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    faults,
    stdout: () => stdout,
    stderr: () => stderr,
    exited: () => exit,
    heapUsed: async () => (await request(child, { type: 'heap' }, 'heap')).heapUsed,
    decisionCodes: async () => (await request(child, { type: 'stats' }, 'stats')).codes,
    stop: () => killChild(child),
  }
}
