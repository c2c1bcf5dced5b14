// Strict, type-aware lint (STYLE.md): promises must be handled, switches exhaustive, no deep
// relative imports across apps and libs (use the @mlx-omni/* aliases).
const tseslint = require('typescript-eslint');

module.exports = tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.types/**', 'coverage/**', '.fixtures/**', 'bin/**', 'scripts/*.js', '*.config.js'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: __dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      eqeqeq: 'error',
      curly: 'error',
      'no-restricted-imports': ['error', { patterns: [{ group: ['../../../*'], message: 'Import across apps/libs through an @mlx-omni/* alias.' }] }],
    },
  },
  {
    // Tests read untyped JSON bodies from HTTP; `any` there is the honest type.
    files: ['**/*.spec.ts', '**/*.e2e-spec.ts', 'test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
