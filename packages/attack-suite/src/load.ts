// autocannon, with every response kept on a timeline (when it ended, its status, how long it
// took): a fault injected mid-run can then be checked against what the clients saw before,
// during and after it, not only against run-wide totals.
import autocannon from 'autocannon'

export interface Sample {
  /** ms since the run started when the response ended. */
  at: number
  status: number
  /** Response time in ms. */
  ms: number
}

export interface LoadResult {
  samples: Sample[]
  /** Responses by status. */
  statuses: Record<number, number>
  /** Request-level errors (connection reset, refused...), timeouts excluded. */
  errors: number
  /** Requests with no answer within the run's `timeoutSeconds`. */
  timeouts: number
  /** The slowest response, in ms (autocannon's own histogram). */
  maxLatencyMs: number
  /** Every requests, answered or not. */
  sent: number
  durationSeconds: number
}

export interface LoadOptions {
  url: string
  connections: number
  durationSeconds: number
  /** A request still unanswered after this long counts as a timeout. */
  timeoutSeconds: number
  headers?: Record<string, string>
  /** Called with the ms since start once the load is running (to inject faults on a schedule). */
  onStart?: (startedAt: number) => void
}

export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const samples: Sample[] = []
  let startedAt = 0
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.durationSeconds,
        timeout: options.timeoutSeconds,
        headers: options.headers ?? {},
        pipelining: 1,
        // A 100 ms tick keeps the run on time (autocannon stops at the first tick after duration).
        sampleInt: 100,
      },
      (error, result) => {
        if (error) {
          reject(error instanceof Error ? error : new Error(String(error)))
          return
        }
        const statuses: Record<number, number> = {}
        for (const s of samples) statuses[s.status] = (statuses[s.status] ?? 0) + 1
        resolve({
          samples,
          statuses,
          errors: result.errors - result.timeouts,
          timeouts: result.timeouts,
          maxLatencyMs: result.latency.max,
          sent: result.requests.sent,
          durationSeconds: result.duration,
        })
      },
    )
    instance.on('start', () => {
      startedAt = performance.now()
      options.onStart?.(startedAt)
    })
    instance.on('response', (_client, status, _bytes, ms) => {
      samples.push({ at: performance.now() - startedAt, status, ms })
    })
  })
}

/** `n=… p50=… p99=… max=… ms` of response times, for the test's log. */
export function latencySummary(samples: readonly Sample[]): string {
  if (samples.length === 0) return 'n=0'
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
  return `n=${sorted.length} p50=${at(0.5).toFixed(1)} p99=${at(0.99).toFixed(1)} max=${sorted[sorted.length - 1]!.toFixed(1)} ms`
}
