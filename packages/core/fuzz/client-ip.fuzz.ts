// jazzer.js entry point for the `client-ip` target (see README.md); the invariants live in targets.ts.
import { fuzzClientIp } from './targets.js'

export function fuzz(data: Uint8Array): void {
  fuzzClientIp(data)
}
