// Where req.sec lives (src/request-decision.ts), on Express 5 and 4. Its own file, so each
// Express copy is fresh here: sec() first runs inside a nested sub-app, before any other app
// of that copy has used it.
import express5, { type Request } from 'express'
import express4 from 'express4'
import { afterAll, describe, expect, it } from 'vitest'
import { sec } from '../dist/index.js'
import { KEY, policy, rules } from '@sec/test-kit/fixtures'
import { closeAll, get, listening } from '@sec/test-kit/http'

afterAll(closeAll)

const seen = (req: Request) => ({ code: req.sec?.code ?? null, key: req.sec?.apiKeyId ?? null })
const withKey = { 'x-api-key': KEY }
const decided = { code: 'allowed', key: 'svc-a' }

describe.each([
  ['express 5', express5],
  ['express 4', express4 as unknown as typeof express5],
] as const)('%s', (_name, express) => {
  it('keeps req.sec visible after a nested sub-app that ran sec() hands the request back', async () => {
    // top -> middle -> inner: each mounted app's request prototype inherits from its parent's.
    const top = express()
    const middle = express()
    const inner = express()
    inner.use(sec({ policy, rules }))
    inner.get('/inner', (req, res) => res.json(seen(req)))
    middle.use(inner)
    top.use('/api', middle)
    // Not an inner route: inner and middle call next(), and top's own handler runs.
    top.get('/api/orders', (req, res) => res.json(seen(req)))
    const port = await listening(top.listen(0, '127.0.0.1'))
    expect(JSON.parse((await get(port, '/api/inner', withKey)).body)).toEqual(decided)
    expect(JSON.parse((await get(port, '/api/orders', withKey)).body)).toEqual(decided)
  })

  it('writes over a sec property the request already has of its own', async () => {
    const app = express()
    app.use((req, _res, next) => {
      Object.defineProperty(req, 'sec', { value: undefined, writable: true, configurable: true })
      next()
    })
    app.use(sec({ policy, rules }))
    app.get('/api/orders', (req, res) => res.json(seen(req)))
    const port = await listening(app.listen(0, '127.0.0.1'))
    expect(JSON.parse((await get(port, '/api/orders', withKey)).body)).toEqual(decided)
  })
})
