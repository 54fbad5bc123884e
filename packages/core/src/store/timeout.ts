// Timers are not ES, but every runtime core targets (Node, Bun, Deno, Workers, browsers) has
// them; typed here so core needs no DOM or Node types.
interface Timers {
  setTimeout(cb: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}
const timers = globalThis as unknown as Timers

/** Monotonic milliseconds: a wall clock stepped back must not stretch a deadline. */
export const monotonicNow: () => number =
  typeof (globalThis as { performance?: { now(): number } }).performance?.now === 'function'
    ? () => (globalThis as unknown as { performance: { now(): number } }).performance.now()
    : () => Date.now()

/** setTimeout's largest delay; a longer one fires at once in Node (with a warning). */
const MAX_DELAY_MS = 2 ** 31 - 1

/** A store fault, as the engine reports it. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError'
}

function asError(error: unknown): Error {
  if (error instanceof Error) return error
  return new StoreUnavailableError(typeof error === 'string' ? error : 'store failed')
}

/** Calls `fn(arg)` within the caller's bound. */
export type BoundedCall = <A, T>(
  fn: (arg: A) => T | PromiseLike<T>,
  arg: A,
) => T | Error | Promise<T | Error>

/** One call in flight: `resolve` is dropped once it has been answered or has timed out. */
interface Waiter {
  readonly deadline: number
  resolve: ((value: unknown) => void) | undefined
}

/**
 * A caller that bounds each call by `ms`: a throw, a rejection or no answer within `ms` all
 * become an Error value (never a rejection), so a slow or dead store cannot hold a request or
 * leak an unhandled rejection. A synchronous answer stays synchronous, and a promise it returns
 * never rejects.
 *
 * Why one timer for all calls rather than one per call: setTimeout and clearTimeout on every
 * request cost a timer object and two timer-list updates each. Every call of one caller has the
 * same bound, so deadlines come due in call order: calls wait in a FIFO queue and a single timer
 * is armed for the oldest one still waiting. The timer is cleared whenever nothing is waiting, so
 * an idle engine holds no timer, as before (a process with nothing else to do still exits).
 */
export function boundedCaller(ms: number): BoundedCall {
  const queue: Waiter[] = []
  let head = 0
  let waiting = 0
  let timer: unknown

  function reset(): void {
    if (timer !== undefined) timers.clearTimeout(timer)
    timer = undefined
    queue.length = 0
    head = 0
  }

  /** Arms the timer for the oldest call still waiting (there is one). */
  function arm(now: number): void {
    while (queue[head]!.resolve === undefined) head++
    // The entries before `head` are done: drop them once they are most of the queue.
    if (head > 1024 && head * 2 > queue.length) {
      queue.splice(0, head)
      head = 0
    }
    const delay = Math.min(MAX_DELAY_MS, Math.max(0, Math.ceil(queue[head]!.deadline - now)))
    timer = timers.setTimeout(expire, delay)
  }

  function expire(): void {
    timer = undefined
    const now = monotonicNow()
    for (; head < queue.length; head++) {
      const waiter = queue[head]!
      const resolve = waiter.resolve
      if (resolve === undefined) continue
      // A timer may fire a fraction of a millisecond early by this clock: wait for the rest.
      if (!(waiter.deadline <= now)) break
      waiter.resolve = undefined
      waiting--
      resolve(new StoreUnavailableError(`store did not answer within ${ms} ms`))
    }
    if (waiting > 0) arm(now)
    else reset()
  }

  function answer(waiter: Waiter, value: unknown): void {
    const resolve = waiter.resolve
    if (resolve === undefined) return // already timed out
    waiter.resolve = undefined
    if (--waiting === 0) reset()
    resolve(value)
  }

  return <A, T>(fn: (arg: A) => T | PromiseLike<T>, arg: A): T | Error | Promise<T | Error> => {
    let out: T | PromiseLike<T>
    try {
      out = fn(arg)
    } catch (error) {
      return asError(error)
    }
    if (
      out === null ||
      typeof out !== 'object' ||
      typeof (out as { then?: unknown }).then !== 'function'
    ) {
      return out as T
    }
    const pending = out as PromiseLike<T>
    return new Promise<T | Error>((resolve) => {
      const waiter: Waiter = {
        deadline: monotonicNow() + ms,
        resolve: resolve as (value: unknown) => void,
      }
      queue.push(waiter)
      if (waiting++ === 0) arm(waiter.deadline - ms)
      // A thenable's `then` may throw, or call back more than once: `answer` takes the first.
      try {
        pending.then(
          (value) => answer(waiter, value),
          (error: unknown) => answer(waiter, asError(error)),
        )
      } catch (error) {
        answer(waiter, asError(error))
      }
    })
  }
}
