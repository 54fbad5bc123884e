// The conformance cases: raw requests and the status every adapter must answer. Cases run in
// order against a fresh server per adapter, so rate-limit counters evolve the same way.
import { KEYS } from './policy.js'
import type { RawRequest } from './raw-http.js'
import type { AdapterName } from './servers.js'

export interface Case {
  name: string
  /** Sent in order; the statuses must match `expect` one for one. */
  requests: RawRequest[]
  expect: number[]
  /** For the last response: the `error` code of a denial, or that the handler ran. */
  code?: string
  /** For the last response: headers that must be present. */
  headers?: string[]
  /**
   * Adapters whose framework (or its Node server) refuses this request itself, before any
   * middleware can run, with the status given. The request is still refused and never reaches
   * a handler; only the status (and the body, which is the framework's) may differ.
   */
  refusedFirst?: Partial<Record<AdapterName, number>>
}

/** Where sec's answer and the framework's own early refusal differ: named, with the reason. */
const FASTIFY_BAD_URL = { fastify: 400 } as const // find-my-way: FST_ERR_BAD_URL before hooks
const NODE_SERVER_400 = { hono: 400 } as const // @hono/node-server cannot build a Request

const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0'
const get = (
  target: string,
  headers: [string, string][] = [],
  extra: Partial<RawRequest> = {},
): RawRequest => ({
  target,
  headers: [['User-Agent', BROWSER], ...headers],
  ...extra,
})
const one = (
  name: string,
  req: RawRequest,
  status: number,
  code?: string,
  headers?: string[],
  refusedFirst?: Case['refusedFirst'],
): Case => ({
  name,
  requests: [req],
  expect: [status],
  ...(code ? { code } : {}),
  ...(headers ? { headers } : {}),
  ...(refusedFirst ? { refusedFirst } : {}),
})
const xff = (ip: string): [string, string] => ['X-Forwarded-For', ip]

const adminVariants = [
  '/admin',
  '/ADMIN',
  '/Admin/',
  '/admin/users',
  '//admin',
  '///admin//users',
  '/%61dmin',
  '/%2561dmin',
  '/%41DMIN',
  '/./admin',
  '/x/../admin',
  '/x/%2e%2e/admin',
  '/%2e%2e/admin/users',
  '/admin/..',
  '/admin/%2e%2e',
  '/admin/%2E%2E/',
  '/admin%2fusers',
  '/admin%5cusers',
  '/health/../admin',
  '/admin?x=1',
  '/admin#frag',
  '/admin;jsessionid=1',
  'http://127.0.0.1/admin',
  'https://other.example/admin/x',
]

export const cases: Case[] = [
  one('plain request is allowed and reaches the handler', get('/'), 200, 'handled'),
  one('exempt path', get('/health'), 200, 'handled'),
  one('exempt path with a query', get('/health?verbose=1'), 200, 'handled'),
  one('exemption does not stretch to other spellings', get('/HEALTH'), 200, 'handled'),
  ...adminVariants.map((target) => one(`admin variant ${target}`, get(target), 403, 'path.denied')),
  one('raw backslash target', get('/\\admin'), 403, 'path.denied', undefined, NODE_SERVER_400),
  one(
    'upper-case scheme, absolute form',
    get('HTTP://127.0.0.1/Admin?x=1'),
    403,
    'path.denied',
    undefined,
    NODE_SERVER_400,
  ),
  one('HEAD is GET for a deny', { ...get('/admin'), method: 'HEAD' }, 403),
  one(
    'WebDAV method on a denied path',
    { ...get('/admin'), method: 'PROPFIND' },
    403,
    'path.denied',
  ),
  one('similar prefix is not the denied path', get('/administrator'), 200, 'handled'),
  one('malformed escape', get('/a%zz'), 400, 'request.invalid', undefined, FASTIFY_BAD_URL),
  one('lone percent', get('/a%'), 400, 'request.invalid', undefined, FASTIFY_BAD_URL),
  one('escape that is not UTF-8', get('/%c0'), 400, 'request.invalid', undefined, FASTIFY_BAD_URL),
  one(
    'overlong dot',
    get('/%c0%ae%c0%ae/admin'),
    400,
    'request.invalid',
    undefined,
    FASTIFY_BAD_URL,
  ),
  one(
    'asterisk-form',
    { ...get('*'), method: 'OPTIONS' },
    400,
    'request.invalid',
    undefined,
    NODE_SERVER_400,
  ),
  one('encoded CR LF is matched like any character', get('/a%0d%0ab'), 200, 'handled'),

  // API keys
  one('API key missing', get('/api/orders'), 401, 'apiKey.missing', ['www-authenticate']),
  one('API key wrong', get('/api/orders', [['X-API-Key', 'nope']]), 401, 'apiKey.invalid', [
    'www-authenticate',
  ]),
  one(
    'API key right',
    get('/api/orders', [['X-API-KEY', KEYS.svc], xff('10.2.0.1')]),
    200,
    'handled',
    ['ratelimit', 'ratelimit-policy'],
  ),
  one(
    'API key as Bearer',
    get('/api/orders', [['Authorization', `Bearer ${KEYS.svc}`]]),
    200,
    'handled',
  ),
  one(
    'Bearer scheme is case-insensitive',
    get('/api/orders', [['Authorization', `bearer ${KEYS.svc}`]]),
    200,
  ),
  one(
    'API key sent twice',
    get('/api/orders', [
      ['x-api-key', KEYS.svc],
      ['x-api-key', KEYS.svc],
    ]),
    401,
    'apiKey.invalid',
  ),
  one(
    'x-api-key and Bearer disagree',
    get('/api/orders', [
      ['x-api-key', KEYS.svc],
      ['Authorization', 'Bearer other'],
    ]),
    401,
    'apiKey.invalid',
  ),
  one(
    'API key in the query string is not read',
    get(`/api/orders?api_key=${KEYS.svc}`),
    401,
    'apiKey.missing',
  ),
  one('scoped key inside its scope', get('/api/reports/7', [['x-api-key', KEYS.reports]]), 200),
  one(
    'scoped key outside its scope',
    get('/api/orders', [['x-api-key', KEYS.reports]]),
    403,
    'apiKey.scope',
  ),
  one('encoded path still needs a key', get('/%61pi/orders'), 401, 'apiKey.missing'),

  // User agents
  one('BadBot', { target: '/', headers: [['User-Agent', 'BadBot/1.0']] }, 403, 'userAgent.denied'),
  one(
    'ScraperBot, any case',
    { target: '/', headers: [['User-Agent', 'Mozilla/5.0 (compatible; scraperbot)']] },
    403,
    'userAgent.denied',
  ),
  one(
    'known AI crawler',
    { target: '/', headers: [['User-Agent', 'Mozilla/5.0 (compatible; GPTBot/1.2)']] },
    403,
    'userAgent.denied',
  ),
  one(
    'curl is monitored, not blocked',
    { target: '/', headers: [['User-Agent', 'curl/8.4.0']] },
    200,
    'handled',
  ),
  one('no User-Agent at all', { target: '/' }, 200),
  one(
    'second User-Agent header is seen',
    {
      target: '/',
      headers: [
        ['User-Agent', BROWSER],
        ['User-Agent', 'BadBot'],
      ],
    },
    403,
    'userAgent.denied',
  ),

  // Client addresses
  one('blocked client behind the trusted proxy', get('/', [xff('198.51.100.7')]), 403, 'ip.denied'),
  one('blocked client, several hops', get('/', [xff('198.51.100.7, 127.0.0.1')]), 403, 'ip.denied'),
  one('blocked IPv6 client with port', get('/', [xff('[2001:db8:bad::1]:443')]), 403, 'ip.denied'),
  one('blocked client as mapped IPv6', get('/', [xff('::ffff:198.51.100.7')]), 403, 'ip.denied'),
  one(
    'two X-Forwarded-For lines are one list',
    get('/', [xff('198.51.100.7'), xff('10.0.0.1')]),
    200,
  ),
  one('Forwarded is not the configured header', get('/', [['Forwarded', 'for=198.51.100.7']]), 200),
  one(
    'untrusted peer cannot name a blocked client',
    get('/', [xff('198.51.100.7')], { from: '127.0.0.2' }),
    200,
  ),
  one(
    'untrusted peer cannot borrow the office exemption',
    get('/admin', [xff('203.0.113.5')], { from: '127.0.0.2' }),
    403,
    'path.denied',
  ),
  one(
    'office exemption through the trusted proxy',
    get('/admin', [xff('203.0.113.5')]),
    200,
    'handled',
  ),
  one('internal path from inside', get('/internal/x', [xff('192.168.10.5')]), 200),
  one('internal path from outside', get('/internal/x'), 403, 'ip.denied'),
  one('internal path, unknown client', get('/internal/x', [xff('not-an-ip')]), 403, 'ip.denied'),
  one('internal path, encoded', get('/%69nternal/x', [xff('10.0.0.9')]), 403, 'ip.denied'),

  // Headers
  one('forbidden header', get('/', [['X-Debug', '1']]), 403, 'header.denied'),
  one('oversized header value', get('/', [['X-Padding', 'a'.repeat(5000)]]), 403, 'header.denied'),

  // Rate limits
  {
    name: 'login: 3 a minute, then 429 with Retry-After',
    requests: Array.from({ length: 4 }, () => get('/login', [xff('10.1.0.1')])),
    expect: [200, 200, 200, 429],
    code: 'rateLimit.exceeded',
    headers: ['retry-after', 'ratelimit', 'ratelimit-policy'],
  },
  one('login: another client has its own limit', get('/login', [xff('10.1.0.2')]), 200, 'handled', [
    'ratelimit',
  ]),
  one(
    'login: the limit holds for encoded spellings',
    get('/%6cogin', [xff('10.1.0.1')]),
    429,
    'rateLimit.exceeded',
  ),
  {
    name: 'api: 5 a minute per key, across client addresses',
    requests: Array.from({ length: 6 }, (_, i) =>
      get('/api/orders', [['x-api-key', KEYS.svc], xff(`10.3.0.${i + 1}`)]),
    ),
    // One request with this key was already counted above ('API key right' and the Bearer ones).
    expect: [200, 200, 429, 429, 429, 429],
    code: 'rateLimit.exceeded',
  },

  // Custom rules and faults
  one('custom rule denies with its own status', get('/', [['X-Country', 'XX']]), 451, 'geo.denied'),
  one('custom rule that throws fails closed', get('/boom'), 503, 'rule.error'),
  one('the server keeps serving after a rule failed', get('/after-boom'), 200, 'handled'),
  one('store down, failMode closed', get('/flaky/closed'), 503, 'store.unavailable'),
  one('store down, failMode open', get('/flaky/open'), 200, 'handled'),
]
