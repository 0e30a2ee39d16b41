// Schema validation problems in words a person can act on: no regular
// expressions, no validator jargon. A string schema with a pattern carries
// its rule in words as `x-hint`, which is what a refusal quotes.

/** What the validator reports of one problem (ajv, run with allErrors and verbose). */
export interface ValidationIssue {
  instancePath: string
  keyword: string
  message?: string
  params: Record<string, unknown>
  parentSchema?: { 'x-hint'?: string; description?: string }
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  array: 'a list (JSON array)',
  object: 'an object',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  null: 'null',
}

const plural = (n: unknown, one: string, many: string) => `${String(n)} ${Number(n) === 1 ? one : many}`

function describe(issue: ValidationIssue): string | null {
  const p = issue.params
  switch (issue.keyword) {
    case 'required':
      return 'is required'
    case 'type':
      return `must be ${TYPE_WORDS[String(p.type)] ?? String(p.type)}`
    case 'minItems':
      return `must have at least ${plural(p.limit, 'item', 'items')}`
    case 'maxItems':
      return `must have at most ${plural(p.limit, 'item', 'items')}`
    case 'maxProperties':
      return `must have at most ${plural(p.limit, 'field', 'fields')}`
    case 'minLength':
      return Number(p.limit) === 1 ? 'must not be empty' : `must be at least ${plural(p.limit, 'character', 'characters')}`
    case 'maxLength':
      return `must be at most ${plural(p.limit, 'character', 'characters')}`
    case 'pattern':
    case 'format':
      return issue.parentSchema?.['x-hint'] ? `must be ${issue.parentSchema['x-hint']}` : 'is not in the expected form'
    case 'enum':
      return `must be one of ${(p.allowedValues as unknown[]).map(String).join(', ')}`
    case 'minimum':
      return `must be at least ${String(p.limit)}`
    case 'maximum':
      return `must be at most ${String(p.limit)}`
    case 'additionalProperties':
      return `has an unknown field "${String(p.additionalProperty)}"`
    case 'anyOf':
    case 'oneOf':
      // The branches' own problems say more; this one only repeats them.
      return null
    default:
      return 'is invalid'
  }
}

/**
 * One detail per problem, each naming the value by its JSON pointer
 * ("/task_info/3/fn") and saying what it must be; duplicates dropped.
 */
export function validationDetails(issues: readonly ValidationIssue[], context: string): { path: string; message: string }[] {
  const seen = new Set<string>()
  const details: { path: string; message: string }[] = []
  for (const issue of issues) {
    const words = describe(issue)
    if (!words) continue
    const missing = issue.keyword === 'required' ? `/${String(issue.params.missingProperty)}` : ''
    const path = `${issue.instancePath}${missing}`
    const name = path.split('/').pop() || context
    const message = `${name} ${words}`
    const key = `${path}\n${message}`
    if (seen.has(key)) continue
    seen.add(key)
    details.push({ path, message })
  }
  if (details.length === 0 && issues.length > 0) details.push({ path: '', message: `the ${context} is invalid` })
  return details
}
