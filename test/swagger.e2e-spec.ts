import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getMetadataStorage } from 'class-validator';
import {
  ChatCompletionRequestDto,
  ChatMessageDto,
  FunctionDefinitionDto,
  JsonSchemaFormatDto,
  ResponseFormatDto,
  StreamOptionsDto,
  ToolCallDto,
  ToolCallFunctionDto,
  ToolDto,
} from '@mlx-omni/openai-dto';
import { ensureFixtures, repoFolderName, testHubDir } from '@mlx-omni/model-fixtures';
import { startStack, type RunningStack } from './support/stack';

const MODEL = 'mlx-omni-test/tiny-llama-fp32';
const ADMIN_KEY = 'swagger-admin-key-0123456789';
const CHROMIUM = '/usr/bin/chromium';
/** PLATFORM.md's flags: no sandbox (root in a container), and nothing that reaches the network. */
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

type Schema = Record<string, any>;

/** class-validator's bound and type rules, and the OpenAPI keyword each one documents as. */
const BOUNDS: Record<string, string> = { min: 'minimum', max: 'maximum', arrayMinSize: 'minItems', arrayMaxSize: 'maxItems', minLength: 'minLength', maxLength: 'maxLength' };
const TYPES: Record<string, string> = { isInt: 'integer', isNumber: 'number', isString: 'string', isBoolean: 'boolean', isArray: 'array' };

/**
 * What class-validator enforces on one property, in OpenAPI's words, so it can be compared with
 * what the document says: bounds, sizes, lengths, enums, patterns and the JSON type.
 */
function validatedConstraints(target: new () => object): Map<string, Record<string, unknown>> {
  const byProperty = new Map<string, Record<string, unknown>>();
  for (const rule of getMetadataStorage().getTargetValidationMetadatas(target, '', true, false)) {
    const entry = byProperty.get(rule.propertyName) ?? {};
    byProperty.set(rule.propertyName, entry);
    const [first] = rule.constraints ?? [];
    const name = rule.name ?? '';
    if (name in BOUNDS) {
      entry[BOUNDS[name]] = first;
    } else if (name in TYPES) {
      entry.type = TYPES[name];
    } else if (name === 'isIn') {
      entry.enum = first;
    } else if (name === 'equals') {
      entry.enum = [first];
    } else if (name === 'matches') {
      entry.pattern = (first as RegExp).source;
    }
    if (rule.type === 'conditionalValidation') {
      entry.optional = true;
    }
  }
  return byProperty;
}

const DOCUMENTED_CONSTRAINTS = ['minimum', 'maximum', 'minItems', 'maxItems', 'minLength', 'maxLength', 'enum', 'pattern'];

describe('Swagger UI and the OpenAPI description, as a person uses them', () => {
  let hubCache: string;
  let stack: RunningStack;
  let document: Schema;

  beforeAll(async () => {
    await ensureFixtures(testHubDir(), [MODEL]);
    // A cache with this one model, so the examples name it.
    hubCache = await mkdtemp(join(tmpdir(), 'omni-swagger-hub-'));
    await cp(join(testHubDir(), repoFolderName(MODEL)), join(hubCache, repoFolderName(MODEL)), { recursive: true, verbatimSymlinks: true });
    stack = await startStack({ env: { HF_HUB_CACHE: hubCache, MLX_OMNI_API_KEY: ADMIN_KEY, MLX_OMNI_DEFAULT_MAX_TOKENS: '3' } });
    await stack.waitUntilReady();
    document = (await stack.request('/docs/json')).body;
  });

  afterAll(async () => {
    await stack?.stop();
    if (hubCache !== undefined) {
      await rm(hubCache, { recursive: true, force: true });
    }
  });

  const operations = (): Array<{ where: string; path: string; operation: Schema }> =>
    Object.entries<Schema>(document.paths).flatMap(([path, item]) =>
      Object.entries<Schema>(item).map(([method, operation]) => ({ where: `${method.toUpperCase()} ${path}`, path, operation })),
    );

  it('declares the two key schemes, and puts them on every protected operation but not on /health and /metrics', () => {
    expect(document.components.securitySchemes).toEqual({
      bearer: expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'API key' }),
      'x-api-key': expect.objectContaining({ type: 'apiKey', in: 'header', name: 'x-api-key' }),
    });
    for (const { where, path, operation } of operations()) {
      const open = path === '/metrics' || path.startsWith('/health');
      expect([where, operation.security]).toEqual([where, open ? undefined : [{ bearer: [] }, { 'x-api-key': [] }]]);
      if (!open) {
        expect([where, Object.keys(operation.responses)]).toEqual([where, expect.arrayContaining(['401', '429'])]);
      }
    }
  });

  it('has stable operation ids without brackets, declared tags, one entry per route, and an example per error status', () => {
    const ids = operations().map(({ operation }) => operation.operationId as string);
    expect(ids.every((id) => /^[A-Za-z][A-Za-z0-9_]*$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(['chat_create', 'models_retrieve', 'jobs_list', 'jobs_remove']));
    const declared = document.tags.map((tag: Schema) => tag.name);
    expect(declared).toContain('models');
    for (const { where, operation } of operations()) {
      expect([where, operation.tags.every((tag: string) => declared.includes(tag))]).toEqual([where, true]);
    }
    expect(Object.keys(document.paths).filter((path) => path.includes('{org}/{name}'))).toEqual([]);

    const chat = document.paths['/v1/chat/completions'].post;
    expect(chat.responses['400'].content['application/json'].example.error).toEqual({
      message: 'messages[0].role must be one of the following values: system, developer, user, assistant, tool',
      type: 'invalid_request_error',
      param: 'messages[0].role',
      code: 'invalid_value',
    });
    expect(chat.responses['401'].content['application/json'].example.error.code).toBe('invalid_api_key');
    expect(chat.responses['429'].content['application/json'].example.error.code).toBe('rate_limit_exceeded');
  });

  it('gives request examples that work unchanged: the chat example names the installed model', async () => {
    const example = document.paths['/v1/chat/completions'].post.requestBody.content['application/json'].examples.minimal.value;
    expect(example).toEqual({ model: MODEL, messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 32 });
    const answer = await stack.request('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
      body: JSON.stringify(example),
    });
    expect(answer.status).toBe(200);
    expect(document.paths['/v1/models/{id}'].get.parameters.find((parameter: Schema) => parameter.name === 'id').schema.example).toBe(MODEL);
  });

  it('documents the chat request with exactly the constraints the server validates', () => {
    const classes: Array<new () => object> = [
      ChatCompletionRequestDto,
      ChatMessageDto,
      ToolCallDto,
      ToolCallFunctionDto,
      ToolDto,
      FunctionDefinitionDto,
      ResponseFormatDto,
      JsonSchemaFormatDto,
      StreamOptionsDto,
    ];
    const mismatches: string[] = [];
    for (const target of classes) {
      const schema: Schema = document.components.schemas[target.name];
      const validated = validatedConstraints(target);
      for (const [property, documented] of Object.entries<Schema>(schema.properties)) {
        const rules = validated.get(property) ?? {};
        const where = `${target.name}.${property}`;
        for (const key of DOCUMENTED_CONSTRAINTS) {
          if (JSON.stringify(documented[key]) !== JSON.stringify(rules[key])) {
            mismatches.push(`${where}.${key}: documented ${JSON.stringify(documented[key])}, validated ${JSON.stringify(rules[key])}`);
          }
        }
        // Unions (content, stop, tool_choice) are documented with oneOf; their validators are custom.
        if (documented.oneOf === undefined && rules.type !== undefined && documented.type !== rules.type) {
          mismatches.push(`${where}.type: documented ${documented.type}, validated ${String(rules.type)}`);
        }
        const required = (schema.required ?? []).includes(property);
        if (required === (rules.optional === true)) {
          mismatches.push(`${where}: documented ${required ? 'required' : 'optional'}, validated ${rules.optional === true ? 'optional' : 'required'}`);
        }
      }
      for (const property of validated.keys()) {
        if (schema.properties[property] === undefined) {
          mismatches.push(`${target.name}.${property}: validated but not documented`);
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('caps a chat completion that names no max_tokens at MLX_OMNI_DEFAULT_MAX_TOKENS, reported in /v1/models', async () => {
    const auth = { authorization: `Bearer ${ADMIN_KEY}` };
    expect((await stack.request(`/v1/models/${MODEL}`, { headers: auth })).body.default_max_tokens).toBe(3);
    const answer = await stack.request('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      // Banning end-of-sequence (id 128009, 128001) keeps random weights from stopping before the cap.
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }], logit_bias: { '128009': -100, '128001': -100 } }),
    });
    expect(answer.body.usage.completion_tokens).toBe(3);
    expect(answer.body.choices[0].finish_reason).toBe('length');
  });

  it('says a missing field is required, rather than the first rule class-validator lists', async () => {
    const answer = await stack.request('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
      body: JSON.stringify({ model: MODEL }),
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ param: 'messages', message: 'messages is required' });
  });

  const browserSkip =
    process.platform !== 'linux'
      ? 'not Linux: the browser test drives Debian’s chromium package'
      : !existsSync(CHROMIUM)
        ? `${CHROMIUM} is missing (scripts/ensure-system-deps.sh installs it on Debian)`
        : undefined;
  const inBrowser = browserSkip === undefined ? it : it.skip;

  inBrowser(`in a real browser: opens /docs, authorizes with a key, executes the chat example and sees 200${browserSkip === undefined ? '' : ` [skipped: ${browserSkip}]`}`, async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
    try {
      const page = await browser.newPage();
      await page.goto(`${stack.baseUrl}/docs`);
      await page.locator('.btn.authorize').first().click();
      const bearer = page.locator('.auth-container').filter({ hasText: 'bearer' }).first();
      await bearer.locator('input').first().fill(ADMIN_KEY);
      await bearer.locator('button.authorize').click();
      await page.locator('.modal-ux button.btn-done').first().click();

      const operation = page.locator('#operations-chat-chat_create');
      await operation.locator('.opblock-summary').click();
      await operation.locator('button.try-out__btn').click();
      await operation.locator('button.execute').click();
      const status = operation.locator('.live-responses-table .response .response-col_status').first();
      await status.waitFor({ timeout: 60_000 });
      expect((await status.innerText()).trim()).toBe('200');
      expect(await operation.locator('.live-responses-table .response .response-col_description').first().innerText()).toContain('chat.completion');
    } finally {
      await browser.close();
    }
  });
});
