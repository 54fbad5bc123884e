// Writes policy.schema.json from the built package: the same schema source the validator uses.
import { writeFileSync } from 'node:fs'
import { policyJsonSchema } from '../dist/index.js'

const out = new URL('../policy.schema.json', import.meta.url)
writeFileSync(out, JSON.stringify(policyJsonSchema(), null, 2) + '\n')
