// Starts each example as a user would (node <file>) and checks it enforces the shared policy.
import { spawn, type ChildProcess } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'

const children: ChildProcess[] = []
afterAll(() => children.forEach((c) => c.kill()))

function startExample(file: string): Promise<{ port: number; lines: string[] }> {
  const child = spawn(process.execPath, [file], {
    cwd: new URL('..', import.meta.url).pathname,
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  const lines: string[] = []
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${file} did not start: ${lines.join('\n')}`)),
      15_000,
    )
    child.stderr!.on('data', (d: Buffer) => lines.push(d.toString()))
    child.stdout!.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n').filter(Boolean)) {
        lines.push(line)
        const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(line)
        if (m) {
          clearTimeout(timer)
          resolve({ port: Number(m[1]), lines })
        }
      }
    })
    child.on('exit', (code) =>
      reject(new Error(`${file} exited with ${code}: ${lines.join('\n')}`)),
    )
  })
}

describe.each(['express', 'fastify', 'koa', 'hono'])('%s example', (name) => {
  it('serves, denies and logs per the shared policy.json', async () => {
    const { port, lines } = await startExample(`${name}.mjs`)
    const url = (path: string) => `http://127.0.0.1:${port}${path}`
    expect((await fetch(url('/'))).status).toBe(200)
    expect((await fetch(url('/api/orders'))).status).toBe(401)
    const ok = await fetch(url('/api/orders'), { headers: { 'x-api-key': 'demo-key-123' } })
    expect(ok.status).toBe(200)
    expect(await ok.json()).toMatchObject({ key: 'demo' })
    expect((await fetch(url('/'), { headers: { 'user-agent': 'BadBot' } })).status).toBe(403)
    const statuses: number[] = []
    for (let i = 0; i < 6; i++)
      statuses.push((await fetch(url('/login'), { method: 'POST' })).status)
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429])
    await new Promise((r) => setTimeout(r, 50))
    const logged = lines
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { service: string; status: number })
    expect(logged.some((e) => e.service === name && e.status === 429)).toBe(true)
    expect(lines.join('\n')).not.toContain('demo-key-123')
  })
})
