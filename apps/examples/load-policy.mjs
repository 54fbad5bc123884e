// Every example reads the same file: one policy, four frameworks.
import { readFileSync } from 'node:fs'

export const policy = readFileSync(new URL('./policy.json', import.meta.url), 'utf8')
export const port = (fallback) => Number(process.env.PORT ?? fallback)
export const log = (service) => (event) => console.log(JSON.stringify({ service, ...event }))
export const ready = (service, port) =>
  console.log(`${service} listening on http://127.0.0.1:${port}`)
