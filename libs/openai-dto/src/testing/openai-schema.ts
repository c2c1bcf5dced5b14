import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** OpenAI's published OpenAPI description, kept beside the repository (../shared) as the contract. */
const SPEC_PATH = resolve(__dirname, '..', '..', '..', '..', '..', 'shared', 'openai-openapi', 'openapi.json');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** OpenAPI 3.0's `nullable: true` is not JSON Schema; rewrite it to a type union Ajv understands. */
function toJsonSchema(node: Json): Json {
  if (Array.isArray(node)) {
    return node.map(toJsonSchema);
  }
  if (node === null || typeof node !== 'object') {
    return node;
  }
  const out: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(node)) {
    if (key !== 'nullable') {
      out[key] = toJsonSchema(value);
    }
  }
  if (node.nullable !== true) {
    return out;
  }
  if (typeof out.type === 'string') {
    out.type = [out.type, 'null'];
    if (Array.isArray(out.enum)) {
      out.enum = [...out.enum, null];
    }
    return out;
  }
  return { anyOf: [out, { type: 'null' }] };
}

let ajv: Ajv | undefined;
let components: Record<string, { anyOf?: Array<{ $ref: string }>; properties?: { type?: { enum?: string[] } } }> | undefined;

/** A validator for one of OpenAI's component schemas, e.g. `CreateChatCompletionStreamResponse`. */
export function openAiSchemaValidator(component: string): ValidateFunction {
  if (ajv === undefined) {
    const spec = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as { components: { schemas: Json } };
    components = spec.components.schemas as typeof components;
    const schemas = JSON.parse(JSON.stringify(toJsonSchema(spec.components.schemas)).replace(/#\/components\/schemas\//g, 'openai#/components/schemas/')) as Json;
    ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addFormat('unixtime', true);
    ajv.addSchema({ $id: 'openai', components: { schemas } });
  }
  const validate = ajv.getSchema(`openai#/components/schemas/${component}`);
  if (validate === undefined) {
    throw new Error(`No schema named ${component} in ${SPEC_PATH}`);
  }
  return validate;
}

/**
 * Checks one event of a stream against the member of the union (e.g. `ResponseStreamEvent`) that
 * its `type` names, so a mismatch reports that event's own schema rather than every alternative's.
 */
export function expectOpenAiEvent(union: string, event: { type: string }): void {
  openAiSchemaValidator(union);
  const member = components![union].anyOf?.map((alternative) => alternative.$ref.split('/').pop()!).find((name) => components![name].properties?.type?.enum?.includes(event.type));
  if (member === undefined) {
    throw new Error(`${union} has no event of type ${event.type}`);
  }
  expectOpenAiSchema(member, event);
}

/** Throws with Ajv's findings when `value` does not match the named OpenAI schema. */
export function expectOpenAiSchema(component: string, value: unknown): void {
  const validate = openAiSchemaValidator(component);
  if (!validate(value)) {
    throw new Error(`${component} mismatch: ${JSON.stringify(validate.errors, null, 1)}\nvalue: ${JSON.stringify(value)}`);
  }
}
