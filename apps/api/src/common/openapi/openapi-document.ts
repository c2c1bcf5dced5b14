import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import type { OperationObject, PathItemObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import { isOperationsPath } from '../../auth/caller';
import { MODEL_ID_ALIAS_SEGMENTS } from '../../models/model-id.param';
import { ModelsService } from '../../models/models.service';
import { errorEnvelopeDocFor } from '../../surface-errors';
import { errorResponse } from './api-error-responses.decorator';

/**
 * Request examples name this until the document is served; then it becomes the first chat model in
 * the cache, so "Try it out" works unchanged (or stays this sentence when there is none).
 */
export const EXAMPLE_CHAT_MODEL = '<a chat model id from GET /v1/models>';

/** The key schemes Swagger UI's Authorize offers; the names are what operations' `security` refers to. */
const BEARER_SCHEME = 'bearer';
const API_KEY_SCHEME = 'x-api-key';

const TAGS: Array<[string, string]> = [
  ['chat', 'Chat completions (OpenAI)'],
  ['completions', 'Legacy text completions (OpenAI)'],
  ['responses', 'Responses API (OpenAI), stored in Redis for GET and previous_response_id'],
  ['anthropic', "Anthropic's Messages and Models APIs under /anthropic (errors in Anthropic's envelope)"],
  ['embeddings', 'Embeddings (OpenAI)'],
  ['rerank', 'Reranking documents against a query'],
  ['models', 'The models in the cache: list, describe, pull from the Hub, delete, load and unload'],
  ['jobs', 'Long jobs queued on Redis: model downloads, speech, image generations, self-tests'],
  ['audio', 'Speech to text (Whisper: transcriptions, translations) and text to speech (Kokoro: speech, voices), OpenAI'],
  ['images', 'Text to image: generations (OpenAI, FLUX.1), run as jobs on the workers'],
  ['files', 'Files the long jobs produce (images, speech)'],
  ['workers', 'Inference worker processes'],
  ['diagnostics', 'Checks of the MLX backend'],
  ['health', 'Liveness and readiness'],
  ['metrics', 'Prometheus metrics'],
];

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** `ChatController.create` → `chat_create`: stable, no brackets or spaces, so client generators can use it. */
function operationId(controllerKey: string, methodKey: string): string {
  const controller = controllerKey.replace(/Controller$/, '');
  return `${controller.charAt(0).toLowerCase()}${controller.slice(1)}_${methodKey.replace(/\[\d+\]$/, '')}`;
}

/**
 * Applies, to every operation, what is decided for all routes in one place rather than per route:
 * the key schemes and the 401 of the API-key guard, and the 429 of the rate limits, on every route
 * but the open operational ones (`isOperationsPath`, the guard's own rule); alias paths of model
 * ids (`org/name` in two segments) are left out, their one-segment form documents them.
 */
function applyRouteRules(document: OpenAPIObject, config: OmniConfig): void {
  for (const [path, item] of Object.entries(document.paths)) {
    if (MODEL_ID_ALIAS_SEGMENTS.some((segments) => path.includes(segments))) {
      delete document.paths[path];
      continue;
    }
    const protectedPath = !isOperationsPath(path) || config.protectOps;
    for (const method of METHODS) {
      const operation: OperationObject | undefined = (item as PathItemObject)[method];
      if (operation === undefined || !protectedPath) {
        continue;
      }
      operation.security = [{ [BEARER_SCHEME]: [] }, { [API_KEY_SCHEME]: [] }];
      operation.responses['401'] ??= errorResponse(401, errorEnvelopeDocFor(path));
      if (!isOperationsPath(path)) {
        operation.responses['429'] ??= errorResponse(429, errorEnvelopeDocFor(path));
      }
    }
  }
}

/** The first chat model the server can run, for the examples; undefined when the cache has none. */
async function exampleChatModel(models: ModelsService): Promise<string | undefined> {
  const { data } = await models.list().catch(() => ({ data: [] }));
  return data.find((model) => model.kind === 'chat' && model.supported)?.id;
}

/**
 * Serves Swagger UI at /docs and the OpenAPI description at /docs/json and /docs/yaml. The schemas
 * come from the DTOs through the @nestjs/swagger compiler plugin (scripts/build.js), so the
 * documented constraints are the validated ones.
 */
export function installSwagger(app: INestApplication): void {
  const config = app.get<OmniConfig>(OMNI_CONFIG);
  const builder = new DocumentBuilder()
    .setTitle('MLX Omni Server')
    .setDescription(
      'OpenAI- and Anthropic-compatible local inference on Apple MLX. Errors use OpenAI\'s `{"error": {...}}` envelope, ' +
        'and Anthropic\'s `{"type": "error", "error": {...}}` under /anthropic. ' +
        'When the server has API keys, use **Authorize** with one (as a Bearer token or as `x-api-key`); `/health` and `/metrics` stay open.',
    )
    .setVersion('0.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'API key', description: 'An API key as `Authorization: Bearer KEY` (OpenAI SDKs)' }, BEARER_SCHEME)
    .addApiKey({ type: 'apiKey', in: 'header', name: 'x-api-key', description: 'An API key as `x-api-key: KEY` (Anthropic SDKs)' }, API_KEY_SCHEME);
  for (const [name, description] of TAGS) {
    builder.addTag(name, description);
  }
  const document = SwaggerModule.createDocument(app, builder.build(), { operationIdFactory: operationId });
  applyRouteRules(document, config);
  const models = app.get(ModelsService);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs/json',
    yamlDocumentUrl: 'docs/yaml',
    patchDocumentOnRequest: async (_request, _response, built) => {
      const model = await exampleChatModel(models);
      return model === undefined ? built : (JSON.parse(JSON.stringify(built).split(JSON.stringify(EXAMPLE_CHAT_MODEL)).join(JSON.stringify(model))) as OpenAPIObject);
    },
  });
}
