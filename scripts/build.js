#!/usr/bin/env node
// `npm run build`: tsc with the @nestjs/swagger CLI plugin as a transformer, so the OpenAPI schema
// is generated from the DTOs' types, class-validator decorators and comments at compile time (the
// documented constraints cannot drift from the validated ones). One incremental program for every
// app and lib, as plain tsc did; `nest build` would compile the shared libs once per app.
'use strict';
const ts = require('typescript');
const { before: swaggerPlugin } = require('@nestjs/swagger/plugin');
const { join } = require('node:path');

const root = join(__dirname, '..');
const SWAGGER_PLUGIN_OPTIONS = { classValidatorShim: true, introspectComments: true };

const host = {
  getCanonicalFileName: (name) => name,
  getCurrentDirectory: () => root,
  getNewLine: () => ts.sys.newLine,
};

function fail(diagnostics) {
  process.stderr.write(ts.formatDiagnosticsWithColorAndContext(diagnostics, host));
  process.exit(1);
}

const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.build.json'), {}, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (diagnostic) => fail([diagnostic]),
});
if (config.errors.length > 0) {
  fail(config.errors);
}
// Its own build-info file: one written by a build without the plugin would mark unchanged files as
// emitted, leaving their output without the schema metadata.
const options = { ...config.options, tsBuildInfoFile: join(config.options.outDir, '.tsbuildinfo-swagger') };
const program = ts.createIncrementalProgram({ rootNames: config.fileNames, options, configFileParsingDiagnostics: config.errors });
const diagnostics = [
  ...program.getConfigFileParsingDiagnostics(),
  ...program.getOptionsDiagnostics(),
  ...program.getGlobalDiagnostics(),
  ...program.getSyntacticDiagnostics(),
  ...program.getSemanticDiagnostics(),
];
if (diagnostics.some((diagnostic) => diagnostic.category === ts.DiagnosticCategory.Error)) {
  fail(diagnostics);
}
const emitted = program.emit(undefined, undefined, undefined, false, { before: [swaggerPlugin(SWAGGER_PLUGIN_OPTIONS, program.getProgram())] });
if (emitted.diagnostics.length > 0) {
  fail(emitted.diagnostics);
}
// The workers' BLAS shim on Linux (libs/mlx-native/native/blas-shim/README.md): compiled here, by the module that
// the supervisor asks for its path, so the two cannot disagree on where it is.
require(join(options.outDir, 'libs', 'mlx-native', 'native', 'blas-shim', 'blas-shim.js')).ensureBlasShim();
