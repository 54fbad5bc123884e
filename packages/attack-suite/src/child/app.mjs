// @ts-check
// One app under attack, in its own Node process: a crash is then visible (the process exits),
// its memory is its own (heapUsed after gc), and everything it writes to stdout/stderr can be
// captured whole. Started by src/child-app.ts with `--expose-gc` and the config (a ChildConfig,
// as JSON) in argv[2]. Plain JavaScript because Node 20 cannot load TypeScript; checked by tsc
// through the JSDoc types below.
//
// Every route answers 200 with the Decision the adapter attached (`req.sec` and friends), so a
// test can see everything an app that exposes or logs its Decision would.
import { serve } from '@hono/node-server'
import { formatDecisionEvent, MemoryStore } from '@sec/core'
import { sec as secExpress } from '@sec/express'
import { sec as secFastify } from '@sec/fastify'
import { sec as secHono } from '@sec/hono'
import { sec as secKoa } from '@sec/koa'
import { RedisStore } from '@sec/redis'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import { Redis } from 'ioredis'
import Koa from 'koa'

/** @typedef {import('../protocol.js').ChildConfig} ChildConfig */
/** @typedef {import('../protocol.js').ChildMessage} ChildMessage */
/** @typedef {import('../protocol.js').ParentMessage} ParentMessage */
/** @typedef {import('../protocol.js').Fault} Fault */
/** @typedef {import('../protocol.js').StoreConfig} StoreConfig */
/** @typedef {import('@sec/core').Store} Store */
/** @typedef {import('@sec/core').Decision} Decision */
/** @typedef {import('@sec/core').DecisionEvent} DecisionEvent */
/** @typedef {import('node:http').Server} HttpServer */

/** @param {ChildMessage} message */
function send(message) {
  // The parent may already be gone (a failed test tearing down): nothing to report to then.
  if (process.connected) process.send?.(message)
}

/** @param {Fault['kind']} kind @param {unknown} error */
function fault(kind, error) {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error)
  send({ type: 'fault', fault: { kind, message } })
}

// Reported rather than fatal: the test fails on any fault, and the child keeps serving so the
// rest of the run still says what else went wrong.
process.on('unhandledRejection', (error) => fault('unhandledRejection', error))
process.on('uncaughtException', (error) => fault('uncaughtException', error))
process.on('warning', (warning) => fault('warning', warning))
// Nothing outlives the test process.
process.on('disconnect', () => process.exit(0))

/** @type {ChildConfig} */
const config = JSON.parse(process.argv[2] ?? '{}')

/** Decisions by code (not for Fastify logging to stdout): how a test knows a fault path was taken. */
/** @type {Record<string, number>} */
const codes = {}

/** @param {DecisionEvent} event */
function count(event) {
  codes[event.code] = (codes[event.code] ?? 0) + 1
}

/** @param {DecisionEvent} event */
function logToStdout(event) {
  count(event)
  process.stdout.write(formatDecisionEvent(event) + '\n')
  process.stdout.write(JSON.stringify(event) + '\n')
}

/**
 * @param {StoreConfig} store
 * @returns {Store}
 */
function buildStore(store) {
  switch (store.kind) {
    case 'memory':
      return new MemoryStore()
    case 'redis': {
      // Default client options and no 'error' listener: what an app that forgot one runs with
      // (RedisStore must attach one, or a dead Redis would be an unhandled 'error' event).
      const client = new Redis(store.port, '127.0.0.1')
      return new RedisStore({
        client,
        prefix: store.prefix,
        timeoutMs: store.timeoutMs,
        ...(store.failMode ? { failMode: store.failMode } : {}),
      })
    }
    case 'echoing-failure': {
      const memory = new MemoryStore()
      const prefix = store.failingRulePrefix
      return {
        consume(checks) {
          if (!checks.some((check) => check.key.startsWith(prefix))) return memory.consume(checks)
          const keys = checks.map((check) => check.key).join(', ')
          return Promise.reject(new Error(`could not count ${keys}`))
        },
      }
    }
  }
}

/**
 * The options every adapter takes: the policy as data, the store, and a decision sink. Fastify
 * logging to stdout gets no sink: the adapter's own default (request.log, through pino) is what
 * is under test there, and its decisions are read back from the log.
 * @returns {{ policy: object, store: Store, onDecision?: (event: DecisionEvent) => void }}
 */
function secOptions() {
  const store = buildStore(config.store)
  if (config.log === 'count') return { policy: config.policy, store, onDecision: count }
  if (config.adapter === 'fastify') return { policy: config.policy, store }
  return { policy: config.policy, store, onDecision: logToStdout }
}

/** @param {Decision | null | undefined} decision */
const body = (decision) => JSON.stringify({ handled: true, sec: decision ?? null })

/** @param {HttpServer} server @returns {Promise<number>} */
function listening(server) {
  return new Promise((resolve, reject) => {
    const done = () => {
      const address = server.address()
      resolve(typeof address === 'object' && address ? address.port : 0)
    }
    if (server.listening) done()
    else {
      server.once('listening', done)
      server.once('error', reject)
    }
  })
}

/** @returns {Promise<number>} the port */
async function start() {
  switch (config.adapter) {
    case 'express': {
      const app = express()
      app.use(secExpress(secOptions()))
      app.use((req, res) => {
        res.type('application/json').send(body(req.sec))
      })
      return listening(app.listen(0, '127.0.0.1'))
    }
    case 'fastify': {
      // Logging to stdout: Fastify's own pino logger (its default destination is stdout), which
      // the adapter logs decisions through by default.
      const app = Fastify({ logger: config.log === 'stdout' })
      await app.register(secFastify, secOptions())
      return fastifyRoutes(app)
    }
    case 'koa': {
      const app = new Koa()
      app.use(secKoa(secOptions()))
      app.use((ctx) => {
        ctx.type = 'application/json'
        ctx.body = body(ctx.state.sec)
      })
      return listening(app.listen(0, '127.0.0.1'))
    }
    case 'hono': {
      /** @type {Hono<import('@sec/hono').SecEnv>} */
      const app = new Hono()
      app.use(secHono(secOptions()))
      app.all('*', (c) => c.body(body(c.get('sec')), 200, { 'content-type': 'application/json' }))
      const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' })
      return listening(/** @type {HttpServer} */ (server))
    }
  }
}

/**
 * @param {import('fastify').FastifyInstance} app
 * @returns {Promise<number>}
 */
async function fastifyRoutes(app) {
  /** @param {import('fastify').FastifyRequest} request @param {import('fastify').FastifyReply} reply */
  const handler = (request, reply) => reply.type('application/json').send(body(request.sec))
  app.all('/*', handler)
  app.all('/', handler)
  app.setNotFoundHandler(handler)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  return typeof address === 'object' && address ? address.port : 0
}

process.on('message', (/** @type {ParentMessage} */ message) => {
  if (message.type === 'heap') {
    // Twice: the first pass may only queue finalizers whose memory the second one frees.
    const gc = /** @type {{ gc?: () => void }} */ (globalThis).gc
    gc?.()
    gc?.()
    send({ type: 'heap', heapUsed: process.memoryUsage().heapUsed })
  } else if (message.type === 'stats') {
    send({ type: 'stats', codes: { ...codes } })
  }
})

start().then(
  (port) => send({ type: 'ready', port }),
  (error) => {
    /** @type {ChildMessage} */
    const message = {
      type: 'startup-error',
      message: error instanceof Error ? (error.stack ?? '') : String(error),
    }
    // Exit once the message is out (exiting at once could drop it).
    if (process.connected) process.send?.(message, () => process.exit(1))
    else process.exit(1)
  },
)
