// Reads a counter the way the Lua script packs it (see src/rate-limit.lua.ts): one byte, the
// algorithm (1 fixed, 2 sliding, 3 token), then its fields as little-endian doubles.
export interface PackedState {
  algorithm: number
  fields: number[]
}

export function unpackState(raw: Buffer): PackedState {
  const fields: number[] = []
  for (let at = 1; at + 8 <= raw.length; at += 8) fields.push(raw.readDoubleLE(at))
  return { algorithm: raw[0]!, fields }
}
