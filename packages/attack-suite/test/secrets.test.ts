// Secrets never logged, log lines never forged (DESIGN.md principles 3 and 4), for every
// adapter. The app runs in its own process and logs each decision the way its users would
// (Fastify through its own pino logger, the adapter's default; the others through onDecision,
// as a formatDecisionEvent line and a JSON.stringify line), and answers every allowed request
// with the Decision it was given (what an app that exposes or logs `req.sec` shows). Everything
// it emits is captured: stdout, stderr, and every response's status line, headers and body.
//
// What must never come back, in any form: an API key (valid or not, from a header, a Bearer
// token or the query string), an Authorization, Proxy-Authorization or Cookie value, a secret in
// the query string. Nor the SHA-256 of any of them: the policy holds key hashes because it must
// verify keys, but a log line with a key's hash lets anyone who reads logs correlate that key
// across systems and test guesses against it offline (the hash is the key's verifier); logs
// name a key by its id only.
import { inspect } from 'node:util'
import { createHash } from 'node:crypto'
import { createEngine, MemoryStore, PolicyError, type RateLimitCheck } from '@sec/core'
import { sec as secExpress } from '@sec/express'
import { sec as secFastify } from '@sec/fastify'
import { sec as secHono } from '@sec/hono'
import { sec as secKoa } from '@sec/koa'
import { sendRaw, type Reply } from '@sec/test-kit/http'
import Fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  decisionsIn,
  encodedSecret,
  findLeaks,
  hasControl,
  parseLogLines,
  secret,
  shortSecret,
  type Emitted,
  type Secret,
} from '../src/capture.js'
import { startChildApp, stopAllChildren, type ChildApp } from '../src/child-app.js'
import { FAILING_RULE_PREFIX, secretsPolicy } from '../src/policies.js'
import { ADAPTERS, type AdapterName } from '../src/protocol.js'

/** Bytes of a UTF-8 string as latin1 characters: sendRaw writes one byte per character. */
const utf8Bytes = (text: string): string => Buffer.from(text, 'utf8').toString('latin1')

// Valid keys (their hashes are in the policy) and everything else an attacker or a client sends.
const apiKey = secret('valid x-api-key key', (core) => `sk_live_${core}`)
const reportsKey = secret('valid key with a narrow scope', (core) => `sk_reports_${core}`)
const queryKey = secret('valid query-string key', (core) => `sk_query_${core}`)
const wrongKey = secret('invalid x-api-key key')
const wrongBearer = secret('invalid Bearer token')
const controlKey = secret('key with control characters', (core) => `\x1b[31m${core}\x07\x7f\t`)
const jsonKey = secret(
  'key with JSON-breaking characters',
  (core) => `${core}"},"apiKeyId":"svc-a","x":"\\`,
)
const separatorKey = secret('key with U+2028 and C1', (core) => utf8Bytes(`${core}\u2028\u0085`))
const nulKey = secret('key with NUL', (core) => `${core}\x00tail`)
const crlfKey = secret('key with CR LF (header injection)', (core) => `${core}\r\nx-injected: 1`)
const duplicateKey = secret('second x-api-key header')
const longBearer = secret('long Bearer token (hashed in rate-limit keys)', (core) =>
  core.repeat(12),
)
const basicPassword = secret('Basic password')
const basic = encodedSecret(
  'Basic credentials',
  `alice:${basicPassword.value}`,
  Buffer.from(`alice:${basicPassword.value}`).toString('base64'),
)
const proxyAuth = secret('Proxy-Authorization value')
const session = secret('session cookie')
const csrf = secret('csrf cookie')
const queryApiKey = secret('api_key in the query string')
const queryToken = secret('access_token in the query string')
const queryPassword = secret('password in the query string')
const invalidTargetQuery = secret('api_key in the query of an invalid target')
const failToken = secret('Bearer token keyed by a failing store')
const failSession = secret('cookie keyed by a failing store')
const failHeaderKey = secret('x-api-key keyed by a failing store')

const SECRETS: readonly Secret[] = [
  apiKey,
  reportsKey,
  queryKey,
  wrongKey,
  wrongBearer,
  controlKey,
  jsonKey,
  separatorKey,
  nulKey,
  crlfKey,
  duplicateKey,
  longBearer,
  basicPassword,
  basic,
  proxyAuth,
  session,
  csrf,
  queryApiKey,
  queryToken,
  queryPassword,
  invalidTargetQuery,
  failToken,
  failSession,
  failHeaderKey,
]

/** Secrets sent only in a request-target's query string (see Fastify's access log below). */
const IN_QUERY: ReadonlySet<Secret> = new Set([
  queryKey,
  queryApiKey,
  queryToken,
  queryPassword,
  invalidTargetQuery,
])

const policy = secretsPolicy({
  api: apiKey.value,
  reports: reportsKey.value,
  query: queryKey.value,
})

interface Attack {
  label: string
  target: string
  headers?: readonly (readonly [string, string])[]
  /** The statuses that show the request was judged as meant (a parser's 400 included where Node refuses the bytes). */
  statuses: readonly number[]
}

const ATTACKS: readonly Attack[] = [
  {
    label: 'valid key in x-api-key',
    target: '/api/orders',
    headers: [['x-api-key', apiKey.value]],
    statuses: [200],
  },
  {
    label: 'valid key as Bearer',
    target: '/api/orders',
    headers: [['authorization', `Bearer ${apiKey.value}`]],
    statuses: [200],
  },
  {
    label: 'the same key in both places',
    target: '/api/orders',
    headers: [
      ['x-api-key', apiKey.value],
      ['authorization', `bearer ${apiKey.value}`],
    ],
    statuses: [200],
  },
  {
    label: 'valid key out of its scope',
    target: '/api/orders',
    headers: [['x-api-key', reportsKey.value]],
    statuses: [403],
  },
  {
    label: 'invalid key',
    target: '/api/orders',
    headers: [['x-api-key', wrongKey.value]],
    statuses: [401],
  },
  {
    label: 'invalid Bearer token',
    target: '/api/orders',
    headers: [['authorization', `Bearer ${wrongBearer.value}`]],
    statuses: [401],
  },
  {
    label: 'key with control characters',
    target: '/api/orders',
    headers: [['x-api-key', controlKey.value]],
    statuses: [400, 401],
  },
  {
    label: 'key with JSON-breaking characters',
    target: '/api/orders',
    headers: [['x-api-key', jsonKey.value]],
    statuses: [401],
  },
  {
    label: 'key with U+2028 and C1 bytes',
    target: '/api/orders',
    headers: [['x-api-key', separatorKey.value]],
    statuses: [401],
  },
  {
    label: 'key with NUL',
    target: '/api/orders',
    headers: [['x-api-key', nulKey.value]],
    statuses: [400, 401],
  },
  {
    label: 'key with CR LF',
    target: '/api/orders',
    headers: [['x-api-key', crlfKey.value]],
    statuses: [400, 401],
  },
  {
    label: 'key sent twice',
    target: '/api/orders',
    headers: [
      ['x-api-key', apiKey.value],
      ['x-api-key', duplicateKey.value],
    ],
    statuses: [401],
  },
  {
    label: 'long Bearer token',
    target: '/api/orders',
    headers: [['authorization', `Bearer ${longBearer.value}`]],
    statuses: [401],
  },
  {
    label: 'Basic credentials, Proxy-Authorization and cookies beside a valid key',
    target: '/api/orders',
    headers: [
      ['x-api-key', apiKey.value],
      ['proxy-authorization', `Basic ${proxyAuth.value}`],
      ['cookie', `session=${session.value}; csrf=${csrf.value}`],
    ],
    statuses: [200],
  },
  {
    label: 'Basic credentials where a key is required',
    target: '/api/orders',
    headers: [['authorization', `Basic ${basic.value}`]],
    statuses: [401],
  },
  {
    label: 'secrets in the query string of a protected route',
    target: `/api/orders?api_key=${queryApiKey.value}&access_token=${queryToken.value}`,
    headers: [['x-api-key', apiKey.value]],
    statuses: [200],
  },
  {
    label: 'a password in the query string of a public route',
    target: `/public?user=alice&password=${queryPassword.value}`,
    statuses: [200],
  },
  {
    label: 'valid key in the query string (opt-in)',
    target: `/q/items?api_key=${queryKey.value}`,
    statuses: [200],
  },
  {
    label: 'an invalid request-target with a key in its query',
    target: `/%zz?api_key=${invalidTargetQuery.value}`,
    statuses: [400],
  },
  {
    label: 'credential-keyed rate limits on a store that fails with the keys in its message',
    target: '/fail/x',
    headers: [
      ['authorization', `Bearer ${failToken.value}`],
      ['cookie', `sid=${failSession.value}`],
      ['x-api-key', failHeaderKey.value],
    ],
    statuses: [200],
  },
]

/** Requests whose logged fields (path, user agent) carry control characters and forged JSON. */
const FORGED_PATH = '/ctl/%0d%0a%7b%22forged%22%3atrue%7d%1b%5b2J%00%e2%80%a8%c2%85%5cend'
// Node's parser admits HTAB and bytes 0x80-0xFF in a header value (C1 controls, and the UTF-8
// bytes of U+2028 read as latin1): those are what can reach a log through the user agent.
const FORGED_AGENT = utf8Bytes('Mozilla\t"},{"forged":true}\u0085\u2028\u2029\\end') + '\x9b'
// ESC, DEL and NUL are refused by the parser (400) before any app code runs.
const REFUSED_AGENT = 'Mozilla\x1b[31m\x7f\x00'
const LOG_INJECTIONS: readonly Attack[] = [
  { label: 'control characters in the path', target: FORGED_PATH, statuses: [200] },
  {
    label: 'control characters in the user agent',
    target: '/ua',
    headers: [['user-agent', FORGED_AGENT]],
    statuses: [200],
  },
  {
    label: 'ESC, DEL and NUL in the user agent',
    target: '/ua',
    headers: [['user-agent', REFUSED_AGENT]],
    statuses: [400],
  },
  {
    label: 'a denied path with CR LF',
    target: '/admin/%0d%0a%7b%22forged%22%3atrue%7d',
    statuses: [403],
  },
]

afterAll(stopAllChildren)

describe.each(ADAPTERS)('%s: secrets and log lines', (adapter: AdapterName) => {
  let app: ChildApp
  const replies = new Map<string, Reply | Error>()

  beforeAll(async () => {
    app = await startChildApp({
      adapter,
      policy,
      store: { kind: 'echoing-failure', failingRulePrefix: FAILING_RULE_PREFIX },
      log: 'stdout',
    })
    for (const attack of [...ATTACKS, ...LOG_INJECTIONS]) {
      try {
        replies.set(
          attack.label,
          await sendRaw(app.port, { target: attack.target, headers: attack.headers ?? [] }),
        )
      } catch (error) {
        replies.set(attack.label, error instanceof Error ? error : new Error(String(error)))
      }
    }
    // Let the last log writes reach the pipe (pino and process.stdout write asynchronously).
    await new Promise((resolve) => setTimeout(resolve, 200))
  })

  it('answers every attack as the policy says', () => {
    const got = [...ATTACKS, ...LOG_INJECTIONS].map((attack) => {
      const reply = replies.get(attack.label)
      const status = reply instanceof Error ? reply.message : reply?.status
      return { label: attack.label, status, ok: attack.statuses.includes(status as number) }
    })
    expect(got.filter((g) => !g.ok)).toEqual([])
  })

  it('never emits a secret or its hash: not in logs, errors, Decisions, or responses', () => {
    const emitted: Emitted[] = [{ source: 'stderr', text: app.stderr() }]
    const { objects } = parseLogLines(app.stdout())
    for (const line of objects) {
      // Fastify's own access log ('incoming request') shows req.url with its query string: that
      // is Fastify's doing, outside the adapter, and the reason the policy's `query` option is
      // off by default. Its other fields, and every other line, are checked for every secret.
      if (adapter === 'fastify' && line.msg === 'incoming request') {
        const { url: _url, ...rest } = (line.req ?? {}) as Record<string, unknown>
        emitted.push({ source: 'fastify access log', text: JSON.stringify({ ...line, req: rest }) })
        const url = JSON.stringify(_url)
        const headerSecrets = SECRETS.filter((s) => !IN_QUERY.has(s))
        expect(findLeaks(headerSecrets, [{ source: 'fastify access log url', text: url }])).toEqual(
          [],
        )
      } else {
        emitted.push({ source: 'stdout line', text: JSON.stringify(line) })
      }
    }
    // Lines that did not parse are checked as raw text too.
    emitted.push({ source: 'stdout (raw)', text: unparsed(app.stdout(), adapter) })
    const reflected: Emitted[] = []
    for (const [label, reply] of replies) {
      if (reply instanceof Error) continue
      const text = `${reply.status} ${JSON.stringify(reply.headers)} ${reply.body}`
      // Fastify refuses a malformed URL before any hook runs (sec never sees it) and its own
      // 400 quotes the URL back to the client that sent it. Checked below for every secret
      // but the one that client put in that very URL.
      if (adapter === 'fastify' && reply.body.includes('FST_ERR_BAD_URL')) {
        reflected.push({ source: `Fastify's own answer to "${label}"`, text })
      } else emitted.push({ source: `response to "${label}"`, text })
    }
    expect(findLeaks(SECRETS, emitted)).toEqual([])
    const others = SECRETS.filter((s) => s !== invalidTargetQuery)
    expect(findLeaks(others, reflected)).toEqual([])
    // The checks saw what they should: decisions were logged, Decisions were exposed.
    // (Every answer but a 400 came through sec, and each of those decisions was logged.)
    const judged = [...replies.values()].filter((r) => !(r instanceof Error) && r.status !== 400)
    expect(decisionsIn(objects).length).toBeGreaterThanOrEqual(judged.length)
    const exposed = replies.get('valid key in x-api-key')
    expect(exposed instanceof Error ? exposed.message : exposed?.body).toContain(
      '"apiKeyId":"svc-a"',
    )
    const failing = replies.get(
      'credential-keyed rate limits on a store that fails with the keys in its message',
    )
    expect(failing instanceof Error ? failing.message : failing?.body).toContain('could not count')
  })

  it('writes each log line as one JSON object, control characters escaped', () => {
    const { objects, problems } = parseLogLines(app.stdout())
    expect(problems).toEqual([])
    expect(app.stderr()).toBe('')
    // No line was forged: the injected `{"forged":true}` stayed text inside a field.
    expect(objects.filter((o) => 'forged' in o)).toEqual([])
    const decisions = decisionsIn(objects)
    for (const d of decisions) {
      for (const field of ['method', 'path', 'userAgent'] as const) {
        expect(hasControl(d[field]), `${field} ${JSON.stringify(d[field])}`).toBe(false)
      }
    }
    // The hostile fields were logged, escaped rather than dropped.
    const paths = decisions.map((d) => d.path)
    expect(paths).toContainEqual(
      expect.stringContaining('/ctl/\\x0d\\x0a{"forged":true}\\x1b[2J\\x00'),
    )
    expect(paths).toContainEqual(expect.stringContaining('/admin/\\x0d\\x0a{"forged":true}'))
    expect(decisions.map((d) => d.userAgent)).toContainEqual(
      // The UTF-8 lead bytes read as latin1 (Â, â) are printable; the C1 bytes are not.
      'Mozilla\\x09"},{"forged":true}\u00c2\\x85\u00e2\\x80\u00a8\u00e2\\x80\u00a9\\x5cend\\x9b',
    )
  })

  it('has no unhandled rejection, uncaught exception or warning, and is still up', () => {
    expect(app.faults).toEqual([])
    expect(app.exited()).toBeUndefined()
  })
})

/** The stdout lines that do not parse as JSON objects, or '' (they are also a failure above). */
function unparsed(stdout: string, adapter: AdapterName): string {
  const bad = parseLogLines(stdout).problems
  return bad.length === 0 ? '' : `${adapter}: ${bad.join('\n')}`
}

describe('errors', () => {
  const plain = shortSecret('plain key pasted where a hash belongs')
  const pastedPolicy = {
    version: 1,
    rules: [{ id: 'keys', type: 'apiKey', keys: [{ id: 'svc-a', sha256: plain.value }] }],
  }
  // JSON text with the pasted key and a syntax error right next to it: the parser's own message
  // quotes the text around the error.
  const pastedText = [
    `{"version":1,"rules":[{"id":"keys","type":"apiKey","keys":[{"id":"svc-a","sha256":${plain.value}}]}]}`,
    `{"version":1,"rules":[{"id":"keys","type":"apiKey","keys":[{"id":"svc-a","sha256":"${plain.value}"x}]}]}`,
    `{"version":1,"rules":[{"id":"keys","type":"apiKey","keys":[{"id":"svc-a","sha256":"${plain.value}`,
    plain.value,
  ]

  /** Every way an app or a logger may print an error. */
  function renderings(error: unknown): Emitted[] {
    const e = error as PolicyError
    return [
      { source: 'message', text: String(e.message) },
      { source: 'String(error)', text: String(e) },
      { source: 'stack', text: String(e.stack) },
      { source: 'errors', text: JSON.stringify(e.errors) },
      { source: 'JSON.stringify', text: JSON.stringify(e) },
      { source: 'util.inspect', text: inspect(e, { depth: 10 }) },
    ]
  }

  const constructors: Record<AdapterName, (p: object | string) => Promise<unknown>> = {
    express: async (p) => secExpress({ policy: p }),
    koa: async (p) => secKoa({ policy: p }),
    hono: async (p) => secHono({ policy: p }),
    fastify: async (p) => {
      const logged: string[] = []
      const app = Fastify({ logger: { stream: { write: (line: string) => logged.push(line) } } })
      try {
        await app.register(secFastify, { policy: p })
        await app.ready()
      } finally {
        await app.close().catch(() => undefined)
        expect(findLeaks([plain], [{ source: 'fastify log', text: logged.join('') }])).toEqual([])
      }
    },
  }

  it.each(ADAPTERS)('%s: a PolicyError never echoes a pasted key', async (adapter) => {
    for (const p of [pastedPolicy, JSON.stringify(pastedPolicy), ...pastedText]) {
      const error: unknown = await constructors[adapter](p).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error, JSON.stringify(p).slice(0, 80)).toBeInstanceOf(PolicyError)
      expect(findLeaks([plain], renderings(error))).toEqual([])
    }
  })
})

describe('rate-limit keys', () => {
  // What a store receives is what it keeps in plain text (a Redis key, visible to SCAN and
  // MONITOR) and what a careless store may quote in an error. A limit per token or per session
  // must count by a digest of the credential, never by the credential, nor by its SHA-256.
  it('a store never receives a credential, yet counts per credential', async () => {
    const seen: RateLimitCheck[] = []
    const memory = new MemoryStore()
    const engine = createEngine(policy, {
      store: {
        consume: (checks) => {
          seen.push(...checks)
          return memory.consume(checks)
        },
      },
    })
    const short = secret('short Bearer token')
    const long = secret('long Bearer token', (core) => core.repeat(10))
    const cookie = secret('cookie value')
    const decide = (headers: Record<string, string>) =>
      engine.decide({ method: 'GET', url: '/fail/x', headers, remoteAddress: '203.0.113.9' })
    const sent = [short, long].map((s) => ({ authorization: `Bearer ${s.value}` }))
    for (const headers of [...sent, sent[0]!, { cookie: `sid=${cookie.value}` }]) {
      await decide({ ...headers, 'x-api-key': apiKey.value })
    }
    const stored = seen.map((c) => `${c.key} ${c.scope ?? ''}`)
    const sha = (text: string) => createHash('sha256').update(text).digest('hex')
    // The whole header value hashed plainly would be a needle too.
    const bearerHashes: Secret[] = [short, long].map((s) => ({
      label: `${s.label} (SHA-256 of the header value)`,
      value: s.value,
      needles: [sha(`Bearer ${s.value}`)],
    }))
    expect(
      findLeaks(
        [short, long, cookie, apiKey, ...bearerHashes],
        [{ source: 'store keys', text: stored.join('\n') }],
      ),
    ).toEqual([])
    // Still one counter per credential: the same token twice shares a key, two tokens do not.
    const tokenKeys = seen.filter((c) => c.key.startsWith(`${FAILING_RULE_PREFIX}per-token:0:h:`))
    expect(tokenKeys.map((c) => c.key)).toHaveLength(3)
    expect(tokenKeys[0]!.key).toBe(tokenKeys[2]!.key)
    expect(tokenKeys[0]!.key).not.toBe(tokenKeys[1]!.key)
  })
})
