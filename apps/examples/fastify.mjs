import Fastify from 'fastify'
import { sec } from '@sec/fastify'
import { log, policy, port, ready } from './load-policy.mjs'

const app = Fastify()
await app.register(sec, { policy, onDecision: log('fastify') })
app.get('/', async (request) => ({ hello: 'fastify', decision: request.sec.code }))
app.get('/api/orders', async (request) => ({ orders: [], key: request.sec.apiKeyId }))
app.post('/login', async () => ({ ok: true }))

await app.listen({ port: port(3102), host: '127.0.0.1' })
ready('fastify', app.server.address().port)
