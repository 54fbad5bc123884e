import { timingSafeEqual } from './sha256.js'

/** How many verified keys an apiKey rule remembers. */
const SIZE = 8

/**
 * The last few keys that verified, so a busy client does not pay for SHA-256 on every request
 * (hashing is most of an API-key check). Only keys that matched a hash in the policy get in,
 * so an attacker cannot fill it; lookups compare against every slot in constant time per
 * slot, so timing says nothing about how close a guess came. The trade-off, documented in the
 * README: up to 8 recently used valid keys per rule live in process memory (as they do anyway
 * while their requests are in flight); they are never logged or put in a Decision.
 */
export class RecentKeys<T> {
  readonly #keys: string[] = []
  readonly #values: T[] = []
  #next = 0

  find(key: string): T | undefined {
    let hit: T | undefined
    for (let i = 0; i < this.#keys.length; i++) {
      // No early exit: every slot is compared whatever the outcome.
      if (timingSafeEqual(this.#keys[i]!, key)) hit = this.#values[i]
    }
    return hit
  }

  remember(key: string, value: T): void {
    this.#keys[this.#next] = key
    this.#values[this.#next] = value
    this.#next = (this.#next + 1) % SIZE
  }
}
