// Timers are not ES, but every runtime core targets (Node, Bun, Deno, Workers, browsers) has
// them; typed here so core needs no DOM or Node types.
interface Timers {
  setTimeout(cb: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}
const timers = globalThis as unknown as Timers

/** A store fault, as the engine reports it. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError'
}

function asError(error: unknown): Error {
  if (error instanceof Error) return error
  return new StoreUnavailableError(typeof error === 'string' ? error : 'store failed')
}

/**
 * Calls `fn` and bounds it: a throw, a rejection or no answer within `ms` all become an Error
 * value (never a rejection), so a slow or dead store cannot hold a request or leak an
 * unhandled rejection. A synchronous answer stays synchronous.
 */
export function callWithTimeout<A, T>(
  fn: (arg: A) => T | PromiseLike<T>,
  arg: A,
  ms: number,
): T | Error | Promise<T | Error> {
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
  const pending = Promise.resolve(out as PromiseLike<T>)
  return new Promise<T | Error>((resolve) => {
    const timer = timers.setTimeout(() => {
      resolve(new StoreUnavailableError(`store did not answer within ${ms} ms`))
    }, ms)
    pending.then(
      (value) => {
        timers.clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        timers.clearTimeout(timer)
        resolve(asError(error))
      },
    )
  })
}
