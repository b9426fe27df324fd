/**
 * What tools/list advertises, trimmed for token economy. Validation stays with zod; only the
 * JSON Schema the client (and often the model) reads is made smaller:
 * - no `$schema` line on every schema (2020-12 is MCP's default);
 * - output schemas without descriptions and `additionalProperties: false` (the model reads the
 *   tool description and the text result; the output schema is for validation).
 */
import type { StandardSchemaWithJSON } from '@modelcontextprotocol/server';
import type { AnyObject } from '../tools/index.js';

type Json = Record<string, unknown>;

function strip(node: unknown, dropDescriptions: boolean): unknown {
  if (Array.isArray(node)) return node.map((n) => strip(n, dropDescriptions));
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node as Json)) {
    if (k === '$schema') continue;
    if (dropDescriptions && (k === 'description' || (k === 'additionalProperties' && v === false))) continue;
    // Under `properties`, keys are field names, not keywords: keep them all.
    out[k] =
      k === 'properties' && v && typeof v === 'object'
        ? Object.fromEntries(Object.entries(v as Json).map(([p, s]) => [p, strip(s, dropDescriptions)]))
        : strip(v, dropDescriptions);
  }
  return out;
}

/** The same schema for validation, advertised with a trimmed JSON Schema. */
export function advertised(schema: AnyObject, kind: 'input' | 'output'): StandardSchemaWithJSON {
  const std = schema['~standard'] as unknown as StandardSchemaWithJSON['~standard'];
  const drop = kind === 'output';
  return {
    '~standard': {
      ...std,
      jsonSchema: {
        input: (o) => strip(std.jsonSchema.input(o), drop) as Json,
        output: (o) => strip(std.jsonSchema.output(o), drop) as Json,
      },
    },
  };
}
