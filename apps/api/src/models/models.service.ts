import { Inject, Injectable } from '@nestjs/common';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import { InvalidModelIdError, ModelCatalog, ModelNotFoundError, type ResolvedModel } from '@mlx-omni/model-hub';
import { OpenAiHttpException } from '../common/errors/openai-http.exception';

/** Finds models in the Hugging Face cache for the routes that name one. */
@Injectable()
export class ModelsService {
  private readonly catalog: ModelCatalog;

  constructor(@Inject(OMNI_CONFIG) config: OmniConfig) {
    this.catalog = new ModelCatalog({ hubCache: config.hfHubCache });
  }

  /** The model a chat request names: 404 when it is not there, 400 when it is not a chat model. */
  async resolveForChat(id: string): Promise<ResolvedModel> {
    const model = await this.resolve(id);
    if (model.kind !== 'chat') {
      throw new OpenAiHttpException(400, `The model ${id} is a ${model.kind} model and cannot serve chat completions`, {
        param: 'model',
        code: 'model_not_supported',
      });
    }
    return model;
  }

  private async resolve(id: string): Promise<ResolvedModel> {
    try {
      return await this.catalog.resolve(id);
    } catch (error) {
      if (error instanceof ModelNotFoundError) {
        throw new OpenAiHttpException(404, error.message, { param: 'model', code: error.code });
      }
      if (error instanceof InvalidModelIdError) {
        throw new OpenAiHttpException(400, error.message, { param: 'model', code: error.code });
      }
      throw error;
    }
  }
}
