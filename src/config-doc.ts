// docs/configuration.md, written from the configuration schema so that the
// page can never disagree with what the process accepts (`npm run docs`; a
// test keeps the committed page equal to this).
import { ConfigSchema } from './config.js'

interface Property {
  default?: unknown
  description?: string
  enum?: unknown[]
  minimum?: number
  maximum?: number
  type?: string
}

const code = (v: unknown) => `\`${String(v)}\``

function defaultOf(p: Property): string {
  if (p.default === undefined) return 'unset'
  if (p.default === '') return 'none'
  return code(p.default)
}

function allowed(p: Property): string {
  if (p.enum) return `one of ${p.enum.map(code).join(', ')}`
  if (p.type === 'integer') {
    if (p.maximum !== undefined) return `${p.minimum ?? 0} to ${p.maximum}`
    return p.minimum !== undefined ? `integer, at least ${p.minimum}` : 'integer'
  }
  if (p.type === 'boolean') return '`true` or `false`'
  return 'text'
}

export function renderConfigDoc(): string {
  const rows = Object.entries(ConfigSchema.properties as Record<string, Property>).map(
    ([name, p]) => `| \`${name}\` | ${defaultOf(p)} | ${allowed(p)} | ${(p.description ?? '').replace(/\|/g, '\\|')} |`,
  )
  return [
    '# Configuration',
    '',
    '<!-- Written by `npm run docs` from src/config.ts; edit the schema, not this page. -->',
    '',
    'Every process reads these environment variables at start and stops with a',
    'message naming the variable when a value is not allowed. Names stay as they',
    'are from release to release; new ones may be added.',
    '',
    '| variable | default | allowed | meaning |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n')
}
