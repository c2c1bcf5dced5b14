export { ModelCatalog, type ModelCatalogOptions } from './catalog';
export { HubNetworkError, HubRequestError, InvalidModelIdError, ModelDownloadError, ModelInUseError, ModelHubError, ModelNotDeletableError, ModelNotFoundError } from './errors';
export { DEFAULT_HF_ENDPOINT, downloadModel, type DownloadedModel, type DownloadProgress, type HubDownloadOptions } from './hub-download';
export { pullModel, type PulledModel } from './pull';
export { companionFoldersAt, companionLocator, deleteModel, describeModelAt, listModels, resolveModel, type DeletedModel, type ModelHubOptions } from './hub-cache';
export { companionFolders, describeModelDir, type DiscoveredKind, type ResolvedCompanion, type ResolvedModel } from './model-dir';
export { parseModelId, repoFolderName, type ModelId } from './model-id';
