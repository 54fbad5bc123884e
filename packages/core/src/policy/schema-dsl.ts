// A tiny schema language: one description of the policy serves both the validator (which
// reports every problem with its JSON path) and the published JSON Schema (which editors use).
// Deliberately small: only what the policy format needs.

export interface PolicyProblem {
  /** JSON Pointer to the offending value, e.g. `/rules/2/limit` ('' is the whole policy). */
  path: string
  message: string
}

type Json = Record<string, unknown>

export type SchemaNode =
  | {
      kind: 'string'
      description?: string
      pattern?: RegExp
      patternText?: string
      enum?: readonly string[]
      minLength?: number
      maxLength?: number
      hint?: string
      sensitive?: boolean
    }
  | { kind: 'integer'; description?: string; minimum?: number; maximum?: number }
  | { kind: 'boolean'; description?: string }
  | { kind: 'const'; value: string | number; description?: string }
  | { kind: 'array'; items: SchemaNode; description?: string; minItems?: number; maxItems?: number }
  | {
      kind: 'object'
      properties: Record<string, Property>
      description?: string
      additional?: SchemaNode | false
      maxProperties?: number
    }
  | { kind: 'anyOf'; options: readonly SchemaNode[]; description?: string; message: string }
  | {
      kind: 'tagged'
      tag: string
      variants: Record<string, SchemaNode>
      fallback: SchemaNode
      description?: string
    }
  | { kind: 'ref'; name: string; node: SchemaNode }
  | { kind: 'any'; description?: string }

export interface Property {
  schema: SchemaNode
  required?: boolean
}

export const s = {
  string: (o: Omit<Extract<SchemaNode, { kind: 'string' }>, 'kind'> = {}): SchemaNode => ({
    kind: 'string',
    ...o,
  }),
  integer: (o: Omit<Extract<SchemaNode, { kind: 'integer' }>, 'kind'> = {}): SchemaNode => ({
    kind: 'integer',
    ...o,
  }),
  boolean: (description?: string): SchemaNode =>
    description ? { kind: 'boolean', description } : { kind: 'boolean' },
  const: (value: string | number, description?: string): SchemaNode => ({
    kind: 'const',
    value,
    ...(description ? { description } : {}),
  }),
  array: (
    items: SchemaNode,
    o: Omit<Extract<SchemaNode, { kind: 'array' }>, 'kind' | 'items'> = {},
  ): SchemaNode => ({ kind: 'array', items, ...o }),
  object: (
    properties: Record<string, Property>,
    o: Omit<Extract<SchemaNode, { kind: 'object' }>, 'kind' | 'properties'> = {},
  ): SchemaNode => ({ kind: 'object', properties, additional: false, ...o }),
  anyOf: (options: readonly SchemaNode[], message: string, description?: string): SchemaNode => ({
    kind: 'anyOf',
    options,
    message,
    ...(description ? { description } : {}),
  }),
  tagged: (
    tag: string,
    variants: Record<string, SchemaNode>,
    fallback: SchemaNode,
    description?: string,
  ): SchemaNode => ({
    kind: 'tagged',
    tag,
    variants,
    fallback,
    ...(description ? { description } : {}),
  }),
  ref: (name: string, node: SchemaNode): SchemaNode => ({ kind: 'ref', name, node }),
  any: (description?: string): SchemaNode =>
    description ? { kind: 'any', description } : { kind: 'any' },
  req: (schema: SchemaNode): Property => ({ schema, required: true }),
  opt: (schema: SchemaNode): Property => ({ schema }),
}

/** JSON Pointer segment escaping (RFC 6901). */
export function pointer(base: string, key: string | number): string {
  return `${base}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`
}

function typeName(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  return typeof value
}

const own = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k)

/** Unknown properties of one object reported by name; the rest are counted in one problem. */
const MAX_UNKNOWN_REPORTED = 20

function quote(value: string, max = 60): string {
  const shown = value.length > max ? `${value.slice(0, max)}…` : value
  return JSON.stringify(shown)
}

/**
 * Checks `value` against `node`, pushing every problem (not just the first). `tagHandlers`
 * lets the caller decide what an unknown tag means (custom rule types).
 */
export function check(
  node: SchemaNode,
  value: unknown,
  path: string,
  problems: PolicyProblem[],
  unknownTag?: (tag: unknown, value: Json, path: string, problems: PolicyProblem[]) => void,
): void {
  switch (node.kind) {
    case 'ref':
      check(node.node, value, path, problems, unknownTag)
      return
    case 'any':
      return
    case 'string': {
      if (typeof value !== 'string') {
        problems.push({ path, message: `must be a string, got ${typeName(value)}` })
        return
      }
      if (node.enum && !node.enum.includes(value)) {
        problems.push({
          path,
          message: `must be one of ${node.enum.map((e) => JSON.stringify(e)).join(', ')}, got ${quote(value)}`,
        })
        return
      }
      if (node.minLength !== undefined && value.length < node.minLength) {
        problems.push({
          path,
          message:
            node.minLength === 1
              ? 'must not be empty'
              : `must be at least ${node.minLength} characters`,
        })
        return
      }
      if (node.maxLength !== undefined && value.length > node.maxLength) {
        problems.push({ path, message: `must be at most ${node.maxLength} characters` })
        return
      }
      if (node.pattern && !node.pattern.test(value)) {
        const hint = node.hint ?? `does not match ${node.pattern.source}`
        // A sensitive field (a key hash) may hold a pasted secret: never echo it.
        problems.push({
          path,
          message: node.sensitive ? `value ${hint}` : `${quote(value)} ${hint}`,
        })
      }
      return
    }
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        problems.push({
          path,
          message: `must be an integer, got ${typeof value === 'number' ? String(value) : typeName(value)}`,
        })
        return
      }
      if (node.minimum !== undefined && value < node.minimum)
        problems.push({ path, message: `must be >= ${node.minimum}, got ${value}` })
      else if (node.maximum !== undefined && value > node.maximum)
        problems.push({ path, message: `must be <= ${node.maximum}, got ${value}` })
      return
    case 'boolean':
      if (typeof value !== 'boolean')
        problems.push({ path, message: `must be true or false, got ${typeName(value)}` })
      return
    case 'const':
      if (value !== node.value)
        problems.push({ path, message: `must be ${JSON.stringify(node.value)}` })
      return
    case 'array': {
      if (!Array.isArray(value)) {
        problems.push({ path, message: `must be an array, got ${typeName(value)}` })
        return
      }
      if (node.minItems !== undefined && value.length < node.minItems) {
        problems.push({
          path,
          message:
            node.minItems === 1 ? 'must not be empty' : `must have at least ${node.minItems} items`,
        })
      }
      if (node.maxItems !== undefined && value.length > node.maxItems) {
        problems.push({
          path,
          message: `must have at most ${node.maxItems} items, got ${value.length}`,
        })
        return
      }
      for (let i = 0; i < value.length; i++)
        check(node.items, value[i], pointer(path, i), problems, unknownTag)
      return
    }
    case 'object': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        problems.push({ path, message: `must be an object, got ${typeName(value)}` })
        return
      }
      const obj = value as Json
      const keys = Object.keys(obj)
      if (node.maxProperties !== undefined && keys.length > node.maxProperties) {
        problems.push({ path, message: `must have at most ${node.maxProperties} properties` })
        return
      }
      for (const [name, prop] of Object.entries(node.properties)) {
        if (own(obj, name)) check(prop.schema, obj[name], pointer(path, name), problems, unknownTag)
        else if (prop.required) problems.push({ path: pointer(path, name), message: 'is required' })
      }
      let unknown = 0
      for (const key of keys) {
        if (own(node.properties, key)) continue
        if (node.additional === false || node.additional === undefined) {
          // Each unknown key is named, up to a point: an object with a million stray keys
          // must not turn into a million problems.
          if (++unknown > MAX_UNKNOWN_REPORTED) continue
          const known = Object.keys(node.properties)
          problems.push({
            path: pointer(path, key),
            message: `is not a known property (expected one of: ${known.join(', ')})`,
          })
        } else {
          check(node.additional, obj[key], pointer(path, key), problems, unknownTag)
        }
      }
      if (unknown > MAX_UNKNOWN_REPORTED) {
        problems.push({
          path,
          message: `has ${unknown - MAX_UNKNOWN_REPORTED} more unknown properties`,
        })
      }
      return
    }
    case 'anyOf': {
      for (const option of node.options) {
        const scratch: PolicyProblem[] = []
        check(option, value, path, scratch, unknownTag)
        if (scratch.length === 0) return
      }
      problems.push({ path, message: node.message })
      return
    }
    case 'tagged': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        problems.push({ path, message: `must be an object, got ${typeName(value)}` })
        return
      }
      const obj = value as Json
      const tag = obj[node.tag]
      if (typeof tag === 'string' && own(node.variants, tag)) {
        check(node.variants[tag]!, obj, path, problems, unknownTag)
        return
      }
      check(node.fallback, obj, path, problems, unknownTag)
      unknownTag?.(tag, obj, path, problems)
      return
    }
  }
}

/** Renders a node as JSON Schema (draft 2020-12). */
export function toJsonSchema(node: SchemaNode, defs: Record<string, unknown>): Json {
  const withDescription = (out: Json, description?: string): Json =>
    description ? { description, ...out } : out
  switch (node.kind) {
    case 'ref':
      if (!own(defs, node.name)) {
        defs[node.name] = {}
        defs[node.name] = toJsonSchema(node.node, defs)
      }
      return { $ref: `#/$defs/${node.name}` }
    case 'string': {
      const out: Json = { type: 'string' }
      if (node.enum) out.enum = [...node.enum]
      if (node.minLength !== undefined) out.minLength = node.minLength
      if (node.maxLength !== undefined) out.maxLength = node.maxLength
      if (node.pattern) out.pattern = node.patternText ?? node.pattern.source
      return withDescription(out, node.description)
    }
    case 'integer': {
      const out: Json = { type: 'integer' }
      if (node.minimum !== undefined) out.minimum = node.minimum
      if (node.maximum !== undefined) out.maximum = node.maximum
      return withDescription(out, node.description)
    }
    case 'boolean':
      return withDescription({ type: 'boolean' }, node.description)
    case 'any':
      return withDescription({}, node.description)
    case 'const':
      return withDescription({ const: node.value }, node.description)
    case 'array': {
      const out: Json = { type: 'array', items: toJsonSchema(node.items, defs) }
      if (node.minItems !== undefined) out.minItems = node.minItems
      if (node.maxItems !== undefined) out.maxItems = node.maxItems
      return withDescription(out, node.description)
    }
    case 'object': {
      const properties: Json = {}
      const required: string[] = []
      for (const [name, prop] of Object.entries(node.properties)) {
        properties[name] = toJsonSchema(prop.schema, defs)
        if (prop.required) required.push(name)
      }
      const out: Json = { type: 'object', properties }
      if (required.length > 0) out.required = required
      out.additionalProperties =
        node.additional === false || node.additional === undefined
          ? false
          : toJsonSchema(node.additional, defs)
      if (node.maxProperties !== undefined) out.maxProperties = node.maxProperties
      return withDescription(out, node.description)
    }
    case 'anyOf':
      return withDescription(
        { anyOf: node.options.map((o) => toJsonSchema(o, defs)) },
        node.description,
      )
    case 'tagged': {
      const tags = Object.keys(node.variants)
      const branches: Json[] = tags.map((tag) => ({
        if: { properties: { [node.tag]: { const: tag } }, required: [node.tag] },
        then: toJsonSchema(node.variants[tag]!, defs),
      }))
      const fallback = toJsonSchema(node.fallback, defs)
      return withDescription(
        {
          type: 'object',
          properties: { [node.tag]: { anyOf: [{ enum: tags }, { type: 'string' }] } },
          required: [node.tag],
          allOf: [
            ...branches,
            { if: { not: { properties: { [node.tag]: { enum: tags } } } }, then: fallback },
          ],
        },
        node.description,
      )
    }
  }
}
