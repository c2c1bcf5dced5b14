import type { CliCommand } from '../command';
import { keysCommand } from './keys.command';
import { modelsCommand } from './models.command';
import { serveCommand } from './serve.command';

/** Every subcommand; adding one is adding its module and a line here. */
export const COMMANDS: readonly CliCommand[] = [serveCommand, keysCommand, modelsCommand];

/** What `mlx-omni-server` with no command (or only options) runs. */
export const DEFAULT_COMMAND: CliCommand = serveCommand;
