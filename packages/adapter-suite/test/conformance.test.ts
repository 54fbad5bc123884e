// Every case over real HTTP against a real server of every adapter; then the cross-check that
// all adapters answered every request with the same status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sendRaw, type RawResponse } from '@sec/test-kit/http'
import { cases, type Case } from '../src/cases.js'
import { ADAPTERS, start, type AdapterName, type Running } from '../src/servers.js'

const servers = new Map<AdapterName, Running>()
/** adapter → case name → statuses observed. */
const observed = new Map<AdapterName, Map<string, number[]>>(ADAPTERS.map((a) => [a, new Map()]))
const unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled)
  for (const name of ADAPTERS) servers.set(name, await start(name))
})

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled)
  await Promise.all([...servers.values()].map((s) => s.close()))
})

/** The statuses this adapter must give: the case's, or its framework's own early refusal. */
function expected(c: Case, adapter: AdapterName): number[] {
  const early = c.refusedFirst?.[adapter]
  return early === undefined ? c.expect : [...c.expect.slice(0, -1), early]
}

function checkBody(res: RawResponse, c: Case, adapter: AdapterName): void {
  if (c.refusedFirst?.[adapter] !== undefined) return // the framework's body, not ours
  if (c.code === 'handled') {
    expect(JSON.parse(res.body), 'the handler should have run').toMatchObject({ handled: true })
  } else if (c.code && res.body !== '') {
    const body = JSON.parse(res.body) as { error?: string; message?: string; handled?: boolean }
    expect(body.error).toBe(c.code)
    expect(typeof body.message).toBe('string')
  }
  for (const header of c.headers ?? [])
    expect(res.headers, `header ${header}`).toHaveProperty(header)
}

describe.each(ADAPTERS)('%s', (adapter) => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const server = servers.get(adapter)!
    const statuses: number[] = []
    let last: RawResponse | undefined
    for (const req of c.requests) {
      const before = server.handled()
      last = await sendRaw(server.port, req)
      statuses.push(last.status)
      // A request that is not answered 200 must never have reached a route handler.
      if (last.status !== 200)
        expect(server.handled(), 'handler ran for a refused request').toBe(before)
    }
    observed.get(adapter)!.set(c.name, statuses)
    expect(statuses).toEqual(expected(c, adapter))
    checkBody(last!, c, adapter)
  })
})

describe('all adapters', () => {
  it('answered every request with the same status (framework refusals before middleware named per case)', () => {
    for (const c of cases) {
      const byAdapter = Object.fromEntries(
        ADAPTERS.filter((a) => c.refusedFirst?.[a] === undefined).map((a) => [
          a,
          observed.get(a)!.get(c.name),
        ]),
      )
      const reference = JSON.stringify(c.expect)
      for (const [adapter, statuses] of Object.entries(byAdapter)) {
        expect(JSON.stringify(statuses), `${c.name}: ${adapter}`).toBe(reference)
      }
    }
    for (const adapter of ADAPTERS) expect(observed.get(adapter)!.size, adapter).toBe(cases.length)
  })

  it('leaked no unhandled rejection', () => {
    expect(unhandled).toEqual([])
  })
})
