// Three tiers: unit specs live beside the code; integration suites in test/integration run the
// server in-process (mlx-omni-server/testing); e2e suites in test/ drive the started stack.
const swc = ['@swc/jest', {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    target: 'es2022',
  },
  module: { type: 'commonjs' },
}];
const moduleNameMapper = {
  '^mlx-omni-server/testing$': '<rootDir>/apps/in-process/src',
  '^@mlx-omni/openai-dto/testing$': '<rootDir>/libs/openai-dto/src/testing/openai-schema',
  // The ffmpeg decoding helper alone, for the API, which never loads the MLX binding.
  '^@mlx-omni/mlx-native/decode-audio$': '<rootDir>/libs/mlx-native/src/audio/decode-audio',
  // Building and locating the BLAS shim, for the build and the supervisor, which never load the binding either.
  '^@mlx-omni/mlx-native/blas-shim$': '<rootDir>/libs/mlx-native/native/blas-shim/blas-shim',
  '^@mlx-omni/([a-z-]+)$': '<rootDir>/libs/$1/src',
};
module.exports = {
  // Model loading and real processes are slow on 2-core CI machines; hangs still fail, just later.
  testTimeout: 120000,
  projects: [
    {
      displayName: 'unit',
      rootDir: __dirname,
      testMatch: ['<rootDir>/apps/**/*.spec.ts', '<rootDir>/libs/**/*.spec.ts'],
      transform: { '^.+\\.ts$': swc },
      moduleNameMapper,
      testEnvironment: 'node',
    },
    {
      displayName: 'integration',
      rootDir: __dirname,
      testMatch: ['<rootDir>/test/integration/**/*.int-spec.ts'],
      transform: { '^.+\\.ts$': swc },
      moduleNameMapper,
      testEnvironment: 'node',
    },
    {
      displayName: 'e2e',
      rootDir: __dirname,
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      transform: { '^.+\\.ts$': swc },
      moduleNameMapper,
      testEnvironment: 'node',
    },
  ],
};
