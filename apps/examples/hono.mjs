import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { sec } from '@sec/hono'
import { log, policy, port, ready } from './load-policy.mjs'

const app = new Hono()
app.use(sec({ policy, onDecision: log('hono') }))
app.get('/', (c) => c.json({ hello: 'hono', decision: c.get('sec').code }))
app.get('/api/orders', (c) => c.json({ orders: [], key: c.get('sec').apiKeyId }))
app.post('/login', (c) => c.json({ ok: true }))

serve({ fetch: app.fetch, port: port(3104), hostname: '127.0.0.1' }, (info) =>
  ready('hono', info.port),
)
