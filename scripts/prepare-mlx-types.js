#!/usr/bin/env node
// @frost-beta/mlx ships its nn/optimizers typings as .ts sources, which TypeScript then
// type-checks under this project's strict flags (and fails). This copies the package's typing
// sources to .types/ with `// @ts-nocheck` prepended; tsconfig maps the import there.
const { cpSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const source = join(root, 'node_modules', '@frost-beta', 'mlx', 'lib');
const target = join(root, '.types', 'frost-beta-mlx');

rmSync(target, { recursive: true, force: true });
cpSync(source, target, { recursive: true, filter: (path) => statSync(path).isDirectory() || /\.ts$/.test(path) });

(function markNoCheck(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      markNoCheck(path);
    } else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) {
      writeFileSync(path, `// @ts-nocheck\n${readFileSync(path, 'utf8')}`);
    }
  }
})(target);
