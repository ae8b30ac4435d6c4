// Checks a JSON value against a JSON Schema, for reading reports (bench-report): each problem as a
// line naming the field, what was expected and what was found. It reads the keywords our schema
// uses (type, const, enum, required, properties, additionalProperties, items, minimum,
// exclusiveMinimum, minLength, pattern, oneOf) and refuses a schema with any other, so it cannot
// pass what it does not check. Hand-written rather than a validator library: those are 100 KB or
// more for a user's install and compile schemas to code, which some runtimes forbid; the tests hold
// this one to Ajv on valid and broken reports.

export type JsonSchema = {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  required?: string[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minimum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  pattern?: string;
  oneOf?: JsonSchema[];
  [annotation: string]: unknown;
};

const CHECKED = new Set(['type', 'const', 'enum', 'required', 'properties', 'additionalProperties', 'items', 'minimum', 'exclusiveMinimum', 'minLength', 'pattern', 'oneOf']);
const ANNOTATIONS = new Set(['$schema', '$id', 'title', 'description']);

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

const show = (value: unknown) => {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/** The problems of `value` against `schema`, one line each; none when it is valid. */
export function validateJson(schema: JsonSchema, value: unknown, path = ''): string[] {
  for (const key of Object.keys(schema)) {
    if (!CHECKED.has(key) && !ANNOTATIONS.has(key)) throw new Error(`validateJson: the schema uses '${key}' at ${path || 'the top'}, which this validator does not check`);
  }
  const at = path || 'the report';
  const kind = typeOf(value);
  if (schema.oneOf) {
    const passing = schema.oneOf.map((option) => validateJson(option, value, path)).filter((problems) => !problems.length).length;
    if (passing !== 1) return [`${at}: expected exactly one of ${schema.oneOf.length} forms to match, ${passing} did (found ${show(value)})`];
  }
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.includes(kind) && !(kind === 'integer' && types.includes('number'))) return [`${at}: expected ${types.join(' or ')}, found ${kind} ${show(value)}`];
  }
  if ('const' in schema && JSON.stringify(value) !== JSON.stringify(schema.const)) return [`${at}: expected ${show(schema.const)}, found ${show(value)}`];
  if (schema.enum && !schema.enum.some((option) => JSON.stringify(option) === JSON.stringify(value))) return [`${at}: expected one of ${schema.enum.map(show).join(', ')}, found ${show(value)}`];
  const problems: string[] = [];
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) problems.push(`${at}: expected a number >= ${schema.minimum}, found ${value}`);
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) problems.push(`${at}: expected a number > ${schema.exclusiveMinimum}, found ${value}`);
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) problems.push(`${at}: expected at least ${schema.minLength} characters, found ${show(value)}`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) problems.push(`${at}: expected text matching /${schema.pattern}/, found ${show(value)}`);
  }
  if (Array.isArray(value) && schema.items) value.forEach((item, i) => problems.push(...validateJson(schema.items!, item, `${path}[${i}]`)));
  if (kind === 'object') {
    const object = value as Record<string, unknown>;
    const field = (name: string) => (path ? `${path}.${name}` : name);
    for (const name of schema.required ?? []) if (!(name in object)) problems.push(`${field(name)}: missing`);
    for (const [name, item] of Object.entries(object)) {
      const known = schema.properties?.[name];
      if (known) problems.push(...validateJson(known, item, field(name)));
      else if (schema.additionalProperties === false) problems.push(`${field(name)}: not a field of this format`);
      else if (typeof schema.additionalProperties === 'object') problems.push(...validateJson(schema.additionalProperties, item, field(name)));
    }
  }
  return problems;
}
