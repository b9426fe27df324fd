/**
 * What tools/list advertises, trimmed for token economy. Validation stays with zod, untouched:
 * the advertised JSON Schema says what a parameter is, the zod schema decides what is valid,
 * and a value it refuses is answered with an error that names the parameter.
 *
 * Every advertised schema (input and output):
 * - has no `$schema` line (2020-12 is MCP's default);
 * - has no limits that add bytes but no guidance: `pattern`, `minLength`/`maxLength`,
 *   `minItems`/`maxItems`, `minimum`/`maximum`, `exclusiveMinimum`/`exclusiveMaximum`;
 * - writes a union of types as `anyOf` of single types, never a `type` array (portable to
 *   function-calling dialects such as Gemini's, which take one type per schema).
 * Output schemas also lose descriptions and `additionalProperties: false`, and are advertised one
 * level deep: the result's fields with their types, enums and the required list; an object or an
 * array of objects inside a field is advertised as `{"type":"object"}` / `{"type":"array"}`
 * (an array of strings or numbers keeps its item type). The full output schema still guards
 * every result: the SDK validates structuredContent against the zod schema before it is sent.
 */
import type { StandardSchemaWithJSON } from '@modelcontextprotocol/server';
import type { AnyObject } from '../tools/index.js';

type Json = Record<string, unknown>;

/** Keywords that constrain values without telling the model anything the name and type do not. */
const LIMITS = new Set([
  'pattern',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
]);

function strip(node: unknown, output: boolean): unknown {
  if (Array.isArray(node)) return node.map((n) => strip(n, output));
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node as Json)) {
    if (k === '$schema' || LIMITS.has(k)) continue;
    if (output && (k === 'description' || (k === 'additionalProperties' && v === false))) continue;
    if (k === 'type' && Array.isArray(v)) {
      out['anyOf'] = v.map((t) => ({ type: t }));
      continue;
    }
    // Under `properties`, keys are field names, not keywords: keep them all.
    out[k] =
      k === 'properties' && v && typeof v === 'object'
        ? Object.fromEntries(Object.entries(v as Json).map(([p, s]) => [p, strip(s, output)]))
        : strip(v, output);
  }
  return out;
}

const PRIMITIVE = new Set(['string', 'number', 'integer', 'boolean', 'null']);

/** A field of an output schema, its inner structure left out. */
function shallow(node: Json): Json {
  if (Array.isArray(node['anyOf'])) return { anyOf: (node['anyOf'] as Json[]).map(shallow) };
  if (node['type'] === 'object') return { type: 'object' };
  if (node['type'] === 'array') {
    const items = node['items'] as Json | undefined;
    return items && PRIMITIVE.has(items['type'] as string) && !items['enum']
      ? { type: 'array', items: { type: items['type'] } }
      : { type: 'array' };
  }
  return node;
}

/** A JSON Schema as tools/list advertises it (exported for the size test and the docs). */
export function trimSchema(schema: Json, kind: 'input' | 'output'): Json {
  const out = strip(schema, kind === 'output') as Json;
  const props = out['properties'] as Record<string, Json> | undefined;
  if (kind === 'output' && props) {
    out['properties'] = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, shallow(v)]));
  }
  return out;
}

/** What a model sending one of these parameters most likely meant. */
const MEANT: Record<string, string> = {
  ocaGroup:
    "IB links orders one-cancels-all only when they are sent together: place_oca_orders (toolset 'order_groups')",
  limitPrice: 'a limit price is `price`',
};

/**
 * The same schema for validation, advertised with a trimmed JSON Schema. `strict` refuses a
 * parameter the schema does not name (zod would drop it): a tool that changes something must not
 * act with a setting the model believes it gave, such as an `ocaGroup` that links nothing.
 */
export function advertised(
  schema: AnyObject,
  kind: 'input' | 'output',
  opts: { strict?: boolean } = {},
): StandardSchemaWithJSON {
  const std = schema['~standard'] as unknown as StandardSchemaWithJSON['~standard'];
  const known = Object.keys(schema.shape);
  const validate: StandardSchemaWithJSON['~standard']['validate'] = (value) => {
    if (opts.strict && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const unknown = Object.keys(value).filter((k) => !known.includes(k));
      if (unknown.length) {
        return {
          issues: unknown.map((k) => ({
            path: [k],
            message: `unknown parameter ${JSON.stringify(k.slice(0, 40))}: nothing was done; ${Object.hasOwn(MEANT, k) ? `${MEANT[k]}; ` : ''}this tool takes only ${known.join(', ')}`,
          })),
        };
      }
    }
    return std.validate(value);
  };
  return {
    '~standard': {
      ...std,
      validate,
      jsonSchema: {
        input: (o) => trimSchema(std.jsonSchema.input(o), kind),
        output: (o) => trimSchema(std.jsonSchema.output(o), kind),
      },
    },
  };
}
