import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * OpenAI's published OpenAPI description, kept beside the repository (../shared) as the contract.
 * CI has it; a clone elsewhere may not, and then the contract tests skip themselves by name.
 */
export const OPENAI_SPEC_PATH = resolve(__dirname, '..', '..', '..', '..', '..', 'shared', 'openai-openapi', 'openapi.json');

/** Whether OpenAI's description is there to check against. */
export const openAiSpecPresent = existsSync(OPENAI_SPEC_PATH);

/**
 * A test of the OpenAI contract: runs when the description is present, and otherwise is reported
 * as skipped under its name (with the reason), so a clone without ../shared still runs every
 * behavioural test and says which contract checks it could not make.
 */
export function itMatchesOpenAiContract(name: string, test: jest.ProvidesCallback, timeoutMs?: number): void {
  if (openAiSpecPresent) {
    it(name, test, timeoutMs);
  } else {
    it.skip(`${name} [OpenAI contract: skipped, no ${OPENAI_SPEC_PATH}]`, test, timeoutMs);
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonSchema = { [key: string]: Json };

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

let loaded: { ajv: Ajv; schemas: { [name: string]: Json } } | undefined;

function openAi(): { ajv: Ajv; schemas: { [name: string]: Json } } {
  if (loaded === undefined) {
    const spec = JSON.parse(readFileSync(OPENAI_SPEC_PATH, 'utf8')) as { components: { schemas: Json } };
    const schemas = JSON.parse(JSON.stringify(toJsonSchema(spec.components.schemas)).replace(/#\/components\/schemas\//g, 'openai#/components/schemas/')) as {
      [name: string]: Json;
    };
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addFormat('unixtime', true);
    ajv.addSchema({ $id: 'openai', components: { schemas } });
    loaded = { ajv, schemas };
  }
  return loaded;
}

/** A validator for one of OpenAI's component schemas, e.g. `CreateChatCompletionStreamResponse`. */
export function openAiSchemaValidator(component: string): ValidateFunction {
  const validate = openAi().ajv.getSchema(`openai#/components/schemas/${component}`);
  if (validate === undefined) {
    throw new Error(`No schema named ${component} in ${OPENAI_SPEC_PATH}`);
  }
  return validate;
}

/**
 * A validator for an edited copy of one of OpenAI's component schemas, for where the published
 * description and the API OpenAI runs disagree (the caller says which, and why, in its test).
 */
export function adjustedOpenAiSchemaValidator(component: string, edit: (schema: JsonSchema) => void): ValidateFunction {
  const { ajv, schemas } = openAi();
  const original = schemas[component];
  if (original === undefined) {
    throw new Error(`No schema named ${component} in ${OPENAI_SPEC_PATH}`);
  }
  const copy = JSON.parse(JSON.stringify(original)) as JsonSchema;
  edit(copy);
  return ajv.compile(copy);
}

function expectValid(validate: ValidateFunction, component: string, value: unknown): void {
  if (!validate(value)) {
    throw new Error(`${component} mismatch: ${JSON.stringify(validate.errors, null, 1)}\nvalue: ${JSON.stringify(value)}`);
  }
}

/** Throws with Ajv's findings when `value` does not match the named OpenAI schema. */
export function expectOpenAiSchema(component: string, value: unknown): void {
  expectValid(openAiSchemaValidator(component), component, value);
}

/**
 * Checks one event of a stream against the member of the union (e.g. `ResponseStreamEvent`) that
 * its `type` names, so a mismatch reports that event's own schema rather than every alternative's.
 */
export function expectOpenAiEvent(union: string, event: { type: string }): void {
  const schemas = openAi().schemas as { [name: string]: { anyOf?: Array<{ $ref: string }>; properties?: { type?: { enum?: string[] } } } };
  const member = schemas[union]?.anyOf?.map((alternative) => alternative.$ref.split('/').pop()!).find((name) => schemas[name].properties?.type?.enum?.includes(event.type));
  if (member === undefined) {
    throw new Error(`${union} has no event of type ${event.type}`);
  }
  expectOpenAiSchema(member, event);
}

/**
 * Each chunk of a streamed legacy completion against OpenAI's `CreateCompletionResponse` (the
 * description says stream events are that object), adjusted: the description lists
 * `finish_reason` as stop/length/content_filter only, but the real API sends `finish_reason: null`
 * in every chunk before the last, and SDKs accept it.
 */
export function expectOpenAiCompletionChunk(value: unknown): void {
  const validate = adjustedOpenAiSchemaValidator('CreateCompletionResponse', (schema) => {
    const choice = ((schema.properties as JsonSchema).choices as JsonSchema).items as JsonSchema;
    const finishReason = (choice.properties as JsonSchema).finish_reason as JsonSchema;
    finishReason.type = ['string', 'null'];
    finishReason.enum = [...(finishReason.enum as Json[]), null];
  });
  expectValid(validate, 'CreateCompletionResponse (streamed, finish_reason nullable)', value);
}
