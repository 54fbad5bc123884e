// Test helpers: real @hono/node-server servers on loopback (raw HTTP is @sec/test-kit/http's).
import { serve, type ServerType } from '@hono/node-server'
import type { Hono } from 'hono'
import type { AddressInfo } from 'node:net'

export interface Served {
  url: string
  port: number
  close(): Promise<void>
}

/** Serves a Hono app on 127.0.0.1 on a free port. */
export async function listen(app: Hono<never>): Promise<Served> {
  const server: ServerType = await new Promise((resolve) => {
    const s: ServerType = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(s),
    )
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        if ('closeAllConnections' in server) server.closeAllConnections()
        server.close((err) => (err ? reject(err) : resolve()))
      }),
  }
}
