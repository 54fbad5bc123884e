// Run with `pnpm example` from the repository root (it builds first).
import { createHash } from 'node:crypto'
import { createEngine, definePolicy } from '@sec/core'

const sha256 = (key) => createHash('sha256').update(key).digest('hex')

const policy = definePolicy({
  version: 1,
  log: 'all',
  rules: [
    { id: 'bots', type: 'userAgent', action: 'deny', contains: ['BadBot', 'ScraperBot'] },
    { id: 'no-admin', type: 'path', action: 'deny', paths: ['/admin', '/admin/**'] },
    {
      id: 'keys',
      type: 'apiKey',
      paths: ['/secure-endpoint'],
      keys: [{ id: 'svc-a', sha256: sha256('secure-key-123') }],
    },
    { id: 'secure-limit', type: 'rateLimit', paths: ['/secure-endpoint'], limit: 10, window: '1m' },
  ],
})

const engine = createEngine(policy, {
  onDecision: (event) => console.log('log  ', JSON.stringify(event)),
})

const requests = [
  { label: 'browser on /', url: '/', headers: { 'user-agent': 'Mozilla/5.0' } },
  { label: 'BadBot', url: '/', headers: { 'user-agent': 'BadBot/1.0' } },
  { label: 'encoded /admin', url: '/%61dmin/../admin/', headers: { 'user-agent': 'Mozilla/5.0' } },
  { label: 'no API key', url: '/secure-endpoint', headers: {} },
  { label: 'right API key', url: '/secure-endpoint', headers: { 'x-api-key': 'secure-key-123' } },
]
for (const { label, ...r } of requests) {
  const d = await engine.decide({ method: 'GET', remoteAddress: '203.0.113.7', ...r })
  console.log(
    `${label.padEnd(16)} -> ${d.status} ${d.code}${d.ruleId ? ` (rule ${d.ruleId})` : ''}`,
  )
}
let last
for (let i = 0; i < 10; i++) {
  last = await engine.decide({
    method: 'GET',
    url: '/secure-endpoint',
    headers: { 'x-api-key': 'secure-key-123' },
    remoteAddress: '203.0.113.7',
  })
}
console.log(
  `12th call a minute -> ${last.status} ${last.code}, Retry-After: ${last.headers['Retry-After']}`,
)
