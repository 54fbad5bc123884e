/**
 * Keys known to be over their limit, until their retry time, on this process's clock. While a
 * client hammers a limit it has already exceeded, its requests are refused here without a
 * round trip. Bounded: the oldest entry goes when full.
 */
export class BlockCache {
  readonly #until = new Map<string, number>()

  constructor(
    private readonly maxKeys: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds this key stays blocked, or 0. */
  blockedFor(key: string): number {
    const until = this.#until.get(key)
    if (until === undefined) return 0
    const left = until - this.now()
    if (left > 0) return left
    this.#until.delete(key)
    return 0
  }

  block(key: string, forMs: number): void {
    if (!(forMs > 0)) return
    if (this.#until.size >= this.maxKeys && !this.#until.has(key)) {
      const oldest = this.#until.keys().next()
      if (!oldest.done) this.#until.delete(oldest.value)
    }
    this.#until.set(key, this.now() + forMs)
  }

  get size(): number {
    return this.#until.size
  }
}
