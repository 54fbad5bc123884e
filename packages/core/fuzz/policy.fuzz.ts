// jazzer.js entry point for the `policy` target (see README.md); the invariants live in targets.ts.
import { fuzzPolicy } from './targets.js'

export function fuzz(data: Uint8Array): void {
  fuzzPolicy(data)
}
