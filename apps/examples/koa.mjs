import Koa from 'koa'
import { sec } from '@sec/koa'
import { log, policy, port, ready } from './load-policy.mjs'

const app = new Koa()
app.use(sec({ policy, onDecision: log('koa') }))
app.use((ctx) => {
  if (ctx.path === '/') ctx.body = { hello: 'koa', decision: ctx.state.sec.code }
  else if (ctx.path === '/api/orders') ctx.body = { orders: [], key: ctx.state.sec.apiKeyId }
  else if (ctx.path === '/login' && ctx.method === 'POST') ctx.body = { ok: true }
})

const server = app.listen(port(3103), '127.0.0.1', () => ready('koa', server.address().port))
