// One real server per adapter (and per major framework version), all with the same policy and
// the same catch-all handler, listening on 127.0.0.1.
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { serve } from '@hono/node-server'
import { createEngine, type Decision } from '@sec/core'
import { sec as secExpress } from '@sec/express'
import { sec as secFastify } from '@sec/fastify'
import { sec as secHono, type SecEnv } from '@sec/hono'
import { sec as secKoa } from '@sec/koa'
import express5 from 'express'
import express4 from 'express4'
import Fastify from 'fastify'
import { Hono } from 'hono'
import Koa3 from 'koa'
import Koa2 from 'koa2'
import { flakyStore, policy, rules } from './policy.js'

export interface Running {
  name: string
  port: number
  /** How many times a route handler ran. */
  handled: () => number
  close: () => Promise<void>
}

export const ADAPTERS = ['express5', 'express4', 'fastify', 'koa3', 'koa2', 'hono'] as const
export type AdapterName = (typeof ADAPTERS)[number]

const engine = () => createEngine(policy, { rules, store: flakyStore() })
const body = (d: Decision | undefined) => JSON.stringify({ handled: true, code: d?.code ?? null })

function listening(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    if (server.listening) resolve((server.address() as AddressInfo).port)
    else server.once('listening', () => resolve((server.address() as AddressInfo).port))
  })
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections?.()
    server.close(() => resolve())
  })
}

export async function start(name: AdapterName): Promise<Running> {
  let handled = 0
  switch (name) {
    case 'express5':
    case 'express4': {
      const app = (name === 'express5' ? express5 : express4)()
      app.use(secExpress({ engine: engine() }))
      app.use((req, res) => {
        handled++
        res.type('application/json').send(body(req.sec))
      })
      const server = app.listen(0, '127.0.0.1')
      return {
        name,
        port: await listening(server),
        handled: () => handled,
        close: () => closeServer(server),
      }
    }
    case 'fastify': {
      const app = Fastify({ logger: false })
      await app.register(secFastify, { engine: engine() })
      const handler = async (request: { sec: Decision | null }) => {
        handled++
        return JSON.parse(body(request.sec ?? undefined)) as unknown
      }
      app.all('/*', handler)
      app.all('/', handler)
      app.setNotFoundHandler(handler)
      await app.listen({ port: 0, host: '127.0.0.1' })
      return {
        name,
        port: (app.server.address() as AddressInfo).port,
        handled: () => handled,
        close: () => app.close(),
      }
    }
    case 'koa3':
    case 'koa2': {
      const app = name === 'koa3' ? new Koa3() : new Koa2()
      app.use(secKoa({ engine: engine() }))
      app.use((ctx) => {
        handled++
        ctx.type = 'application/json'
        ctx.body = body(ctx.state.sec as Decision | undefined)
      })
      const server = app.listen(0, '127.0.0.1')
      return {
        name,
        port: await listening(server),
        handled: () => handled,
        close: () => closeServer(server),
      }
    }
    case 'hono': {
      const app = new Hono<SecEnv>()
      app.use(secHono({ engine: engine() }))
      app.all('*', (c) => {
        handled++
        return c.body(body(c.get('sec')), 200, { 'content-type': 'application/json' })
      })
      const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server
      return {
        name,
        port: await listening(server),
        handled: () => handled,
        close: () => closeServer(server),
      }
    }
  }
}
