/**
 * server.json against the MCP Registry's published schema (static.modelcontextprotocol.io,
 * schemas/<date>/server.schema.json: ServerDetail, RegistryPackage, KeyValueInput,
 * StdioTransport) and the official registry's own rules (npm packages from
 * https://registry.npmjs.org only, description at most 100 characters). The objects are strict,
 * stricter than the schema, so that a misspelt key (environment_variables, is_secret) fails here
 * instead of being ignored by the registry. Each environment variable is also checked against the
 * option that reads it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import * as z from 'zod';
import { OPTIONS } from '../../src/config/options.js';

const REPO = resolve(import.meta.dirname, '../..');
const read = (f: string) => JSON.parse(readFileSync(resolve(REPO, f), 'utf8'));

/** A specific version: no range, no "latest" (the schema rejects both). */
const exactVersion = z
  .string()
  .min(1)
  .max(255)
  .refine((v) => v !== 'latest' && !/^[\^~<>=]|[x*](\.|$)|\s/.test(v), 'a version range');

const input = {
  description: z.string().optional(),
  isRequired: z.boolean().optional(),
  format: z.enum(['string', 'number', 'boolean', 'filepath']).optional(),
  value: z.string().optional(),
  isSecret: z.boolean().optional(),
  default: z.string().optional(),
  placeholder: z.string().optional(),
  choices: z.array(z.string()).optional(),
};

const keyValueInput = z.strictObject({ name: z.string().min(1), ...input });

const npmPackage = z.strictObject({
  registryType: z.literal('npm'),
  registryBaseUrl: z.literal('https://registry.npmjs.org').optional(),
  identifier: z.string().min(1),
  version: exactVersion,
  runtimeHint: z.string().optional(),
  transport: z.strictObject({ type: z.literal('stdio') }),
  environmentVariables: z.array(keyValueInput).optional(),
});

const serverJson = z.strictObject({
  $schema: z
    .string()
    .regex(/^https:\/\/static\.modelcontextprotocol\.io\/schemas\/\d{4}-\d{2}-\d{2}\/server\.schema\.json$/),
  name: z
    .string()
    .min(3)
    .max(200)
    .regex(/^[a-zA-Z0-9.-]+\/[a-zA-Z0-9._-]+$/),
  title: z.string().min(1).max(100).optional(),
  description: z.string().min(1).max(100),
  version: exactVersion,
  websiteUrl: z.url().optional(),
  repository: z
    .strictObject({ url: z.url(), source: z.string(), id: z.string().optional(), subfolder: z.string().optional() })
    .optional(),
  packages: z.array(npmPackage).min(1),
});

test('server.json is valid for the MCP Registry schema', () => {
  const result = serverJson.safeParse(read('server.json'));
  assert.ok(result.success, result.success ? '' : z.prettifyError(result.error));
});

test('the validator rejects what the registry rejects', () => {
  const good = read('server.json');
  const bad = (patch: (s: typeof good) => void) => {
    const s = structuredClone(good);
    patch(s);
    return serverJson.safeParse(s).success;
  };
  assert.equal(
    bad(() => {}),
    true,
  );
  assert.equal(
    bad((s) => {
      s.description = 'x'.repeat(101);
    }),
    false,
  );
  assert.equal(
    bad((s) => {
      s.name = 'no-slash';
    }),
    false,
  );
  assert.equal(
    bad((s) => {
      s.packages[0].version = 'latest';
    }),
    false,
  );
  assert.equal(
    bad((s) => {
      s.packages[0].version = '^1.0.0';
    }),
    false,
  );
  assert.equal(
    bad((s) => {
      s.packages[0].transport = { type: 'http' };
    }),
    false,
  );
  assert.equal(
    bad((s) => {
      s.packages[0].environmentVariables[0].is_secret = true;
    }),
    false,
  );
  assert.equal(
    bad((s) => {
      s.packages[0].registryBaseUrl = 'https://npm.example.com';
    }),
    false,
  );
});

test("server.json's environment variables say what the options that read them say", () => {
  const server = read('server.json') as z.infer<typeof serverJson>;
  for (const v of server.packages.flatMap((p) => p.environmentVariables ?? [])) {
    const o = OPTIONS.find((x) => x.env.includes(v.name));
    assert.ok(o, `${v.name} is read by an option`);
    assert.equal(v.isSecret === true, o.secret === true, `${v.name}: isSecret`);
    assert.equal(v.format === 'boolean', o.type === 'boolean', `${v.name}: format`);
    if (o.values) assert.deepEqual(v.choices, [...o.values], `${v.name}: choices`);
    const def = Array.isArray(o.default) ? o.default.join(',') : o.default;
    if (v.default !== undefined) assert.equal(v.default, String(def), `${v.name}: default`);
  }
});
