// Whether a client has lost its connection and is getting it back. Commands sent then wait in
// the client's offline queue (both clients queue by default) and run when Redis returns, long
// after the engine answered their requests (503, or admitted uncounted): each would count a
// request that was never admitted, and an outage would lock clients out once it is over. The
// store refuses to send them instead.

/** True while the client is reconnecting after a lost connection. Unknown shapes: false. */
export function connectionLost(client: unknown): boolean {
  if (client === null || typeof client !== 'object') return false
  const c = client as {
    status?: unknown
    retryAttempts?: unknown
    isOpen?: unknown
    isReady?: unknown
  }
  // ioredis Redis/Cluster: retryAttempts counts reconnection attempts and goes back to 0 on
  // 'ready'. The first connection (or a lazyConnect client not yet connected) is not a loss.
  if (typeof c.status === 'string' && typeof c.retryAttempts === 'number') {
    return c.retryAttempts > 0 && c.status !== 'ready'
  }
  // node-redis v4/v5 client: open (connect() called, not closed since) but not ready.
  if (typeof c.isOpen === 'boolean' && typeof c.isReady === 'boolean') {
    return c.isOpen && !c.isReady
  }
  return false
}
