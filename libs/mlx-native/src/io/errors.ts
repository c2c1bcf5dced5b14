/** Base class of every error raised while loading a model; `message` says what to fix. */
export class ModelLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class ModelFileMissingError extends ModelLoadError {
  constructor(readonly filePath: string, hint = 'the model download is incomplete; download it again') {
    super(`Model file not found: ${filePath} (${hint})`);
  }
}

/**
 * The model needs files it does not carry (another repo's tokenizer or text encoders) and they are not
 * in the model cache: the caller's to fix by pulling them, not a server fault.
 */
export class ModelIncompleteError extends ModelLoadError {}

export class InvalidModelConfigError extends ModelLoadError {
  constructor(readonly filePath: string, problem: string) {
    super(`Invalid model configuration in ${filePath}: ${problem}`);
  }
}

export class UnsupportedModelTypeError extends ModelLoadError {
  constructor(readonly modelType: string, readonly supported: readonly string[]) {
    super(`Unsupported model_type "${modelType}"; supported model types: ${supported.join(', ')}`);
  }
}

export class CorruptSafetensorsError extends ModelLoadError {
  constructor(readonly filePath: string, problem: string) {
    super(`Corrupt safetensors file ${filePath}: ${problem} (download it again)`);
  }
}

export class MissingTensorError extends ModelLoadError {
  constructor(readonly tensorName: string, modelDir: string) {
    super(`Tensor "${tensorName}" is missing from the weights in ${modelDir}; the checkpoint does not match its config.json`);
  }
}

export class TensorShapeMismatchError extends ModelLoadError {
  constructor(
    readonly tensorName: string,
    readonly expected: readonly number[],
    readonly actual: readonly number[],
  ) {
    super(
      `Tensor "${tensorName}" has shape [${actual.join(', ')}] but config.json implies [${expected.join(', ')}]`,
    );
  }
}
