// What the test process and an app child (src/child/app.mjs) say to each other. The child is
// plain JavaScript (Node 20 cannot run TypeScript and the child must not depend on vitest's
// loader), type-checked against these declarations through JSDoc.

export const ADAPTERS = ['express', 'fastify', 'koa', 'hono'] as const
export type AdapterName = (typeof ADAPTERS)[number]

/** Where the child's rate-limit state lives. */
export type StoreConfig =
  | { kind: 'memory' }
  | {
      kind: 'redis'
      port: number
      prefix: string
      timeoutMs: number
      /** Omitted: RedisStore's default (closed). */
      failMode?: 'open' | 'closed'
    }
  | {
      /**
       * A memory store that fails for the checks of rules whose id starts with `failingRulePrefix`,
       * with every check key in its error message: a careless custom store, so that whatever
       * reaches a store's key can be seen to reach the Decision's trace.
       */
      kind: 'echoing-failure'
      failingRulePrefix: string
    }

export interface ChildConfig {
  adapter: AdapterName
  /** The policy, as data (it crosses the process boundary as JSON). */
  policy: object
  store: StoreConfig
  /**
   * `count`: decisions are only counted by code (cheap, for load). `stdout`: every decision is
   * logged to stdout as the adapter's users would: Fastify through its own pino logger (the
   * adapter's default), the others through `onDecision` as a `formatDecisionEvent` line and a
   * `JSON.stringify` line. Decisions are counted by code in both modes, except for Fastify
   * logging to stdout (its decisions are in its log).
   */
  log: 'count' | 'stdout'
}

/** Something the child saw that must never happen: reported, then the child keeps serving. */
export interface Fault {
  kind: 'unhandledRejection' | 'uncaughtException' | 'warning'
  message: string
}

export type ChildMessage =
  | { type: 'ready'; port: number }
  | { type: 'fault'; fault: Fault }
  | { type: 'heap'; heapUsed: number }
  | { type: 'stats'; codes: Record<string, number> }
  | { type: 'startup-error'; message: string }

export type ParentMessage = { type: 'heap' } | { type: 'stats' }
