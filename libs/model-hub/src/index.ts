export { ModelCatalog, type ModelCatalogOptions } from './catalog';
export { KIND_RULES, type ModelKind } from './classify';
export { InvalidModelIdError, ModelHubError, ModelNotDeletableError, ModelNotFoundError } from './errors';
export { deleteModel, listModels, resolveModel, type DeletedModel, type ModelHubOptions } from './hub-cache';
export type { ResolvedModel } from './model-dir';
export { parseModelId, repoFolderName, type ModelId } from './model-id';
