import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { lines, sec, sha256, tmp } from './helpers.js'

function parseNew(stdout: string): { key: string; id: string; sha256: string } {
  const l = lines(stdout)
  const key = l[l.findIndex((x) => x.startsWith('key ')) + 1]!.trim()
  const entry = JSON.parse(l[l.findIndex((x) => x.startsWith('policy ')) + 1]!) as {
    id: string
    sha256: string
  }
  return { key, ...entry }
}

describe('sec key new', () => {
  it('prints a key, and the policy line whose sha256 is the hash of that key', () => {
    const r = sec(['key', 'new'])
    expect(r.status).toBe(0)
    expect(r.stderr).toBe('')
    expect(r.stdout).toContain('shown once')
    const { key, id, sha256: hash } = parseNew(r.stdout)
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/) // 32 random bytes in base64url
    expect(Buffer.from(key, 'base64url')).toHaveLength(32)
    expect(id).toMatch(/^key-[0-9a-f]{8}$/)
    expect(hash).toBe(createHash('sha256').update(key).digest('hex'))
  })

  it('two runs give different keys', () => {
    const a = parseNew(sec(['key', 'new']).stdout)
    const b = parseNew(sec(['key', 'new']).stdout)
    expect(a.key).not.toBe(b.key)
    expect(a.sha256).not.toBe(b.sha256)
  })

  it('--prefix and --id', () => {
    const r = sec(['key', 'new', '--prefix', 'sk_live_', '--id', 'billing'])
    const { key, id, sha256: hash } = parseNew(r.stdout)
    expect(key).toMatch(/^sk_live_[A-Za-z0-9_-]{43}$/)
    expect(id).toBe('billing')
    expect(hash).toBe(sha256(key))
    expect(r.stdout).toContain(`  { "id": "billing", "sha256": "${hash}" }`)
  })

  it('--json', () => {
    const r = sec(['key', 'new', '--id', 'svc-b', '--json'])
    const data = JSON.parse(r.stdout) as { id: string; key: string; sha256: string }
    expect(data.id).toBe('svc-b')
    expect(data.sha256).toBe(sha256(data.key))
  })

  it('the new key works in a policy: explain verifies it by id', () => {
    const { key, sha256: hash } = parseNew(sec(['key', 'new', '--id', 'fresh']).stdout)
    const policy = tmp('fresh.json', {
      version: 1,
      rules: [{ id: 'keys', type: 'apiKey', keys: [{ id: 'fresh', sha256: hash }] }],
    })
    const r = sec(['explain', policy, '--url', '/', '-H', `x-api-key: ${key}`, '--json'])
    expect(JSON.parse(r.stdout)).toMatchObject({ allowed: true, apiKeyId: 'fresh' })
    expect(sec(['check', policy]).status).toBe(0)
  })

  it('refuses a bad --id or --prefix, and arguments', () => {
    expect(sec(['key', 'new', '--id', 'has space']).status).toBe(2)
    expect(sec(['key', 'new', '--prefix', 'a,b']).status).toBe(2)
    expect(sec(['key', 'new', 'extra']).status).toBe(2)
  })
})

describe('sec key hash', () => {
  it('matches node:crypto', () => {
    const r = sec(['key', 'hash', 'secure-key-123'])
    expect(r.status).toBe(0)
    expect(r.stdout).toBe(`${createHash('sha256').update('secure-key-123').digest('hex')}\n`)
    expect(r.stderr).toBe('')
  })

  it('reads the key from stdin with -, dropping one final newline', () => {
    const expected = `${sha256('secure-key-123')}\n`
    expect(sec(['key', 'hash', '-'], { input: 'secure-key-123' }).stdout).toBe(expected)
    expect(sec(['key', 'hash', '-'], { input: 'secure-key-123\n' }).stdout).toBe(expected)
    expect(sec(['key', 'hash', '-'], { input: 'secure-key-123\r\n' }).stdout).toBe(expected)
  })

  it('non-ASCII keys are hashed as UTF-8', () => {
    expect(sec(['key', 'hash', 'clé-ü']).stdout.trim()).toBe(
      createHash('sha256').update(Buffer.from('clé-ü', 'utf8')).digest('hex'),
    )
  })

  it('warns about keys that can never verify', () => {
    const comma = sec(['key', 'hash', 'a,b'])
    expect(comma.status).toBe(0)
    expect(comma.stderr).toContain('comma')
    expect(sec(['key', 'hash', ' padded ']).stderr).toContain('whitespace')
  })

  it('usage errors never echo the key', () => {
    for (const args of [
      ['key', 'hash'],
      ['key', 'hash', 'secret-one', 'secret-two'],
    ]) {
      const r = sec(args)
      expect(r.status).toBe(2)
      expect(lines(r.stderr)).toHaveLength(1)
      expect(r.all).not.toContain('secret-')
    }
    expect(sec(['key', 'hash', '-'], { input: '' }).status).toBe(2)
    expect(sec(['key']).status).toBe(2)
    expect(sec(['key', 'rotate']).status).toBe(2)
  })

  it('hash-key is an alias', () => {
    expect(sec(['hash-key', 'secure-key-123']).stdout.trim()).toBe(sha256('secure-key-123'))
  })
})
