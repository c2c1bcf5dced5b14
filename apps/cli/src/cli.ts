import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '@mlx-omni/config';
import { type CliCommand, type CliContext, type CliOption, type CommandInput, UsageError } from './command';
import { COMMANDS, DEFAULT_COMMAND } from './commands';
import { environmentHelp } from './environment-help';

const PROGRAM = 'mlx-omni-server';
const HELP_OPTION: CliOption = { type: 'boolean', short: 'h', description: 'show this help' };

/** Every command takes --help besides its own options. */
function optionsOf(command: CliCommand): [string, CliOption][] {
  return Object.entries({ ...command.options, help: HELP_OPTION });
}

function optionLabel(flag: string, option: CliOption): string {
  const label = option.short === undefined ? `--${flag}` : `-${option.short}, --${flag}`;
  return option.valueName === undefined ? label : `${label} <${option.valueName}>`;
}

function help(command: CliCommand, isDefault: boolean): string {
  const options = optionsOf(command).map(([flag, option]) => ({ label: optionLabel(flag, option), description: option.description }));
  const width = Math.max(...options.map((option) => option.label.length));
  const commandWidth = Math.max(...COMMANDS.map((entry) => entry.name.length));
  return [
    `Usage: ${PROGRAM} ${isDefault ? `[${command.name}]` : command.name} ${command.synopsis}`,
    ...(isDefault ? [`       ${PROGRAM} <command> [options]`] : []),
    '',
    ...(isDefault
      ? [
          'Commands:',
          ...COMMANDS.map((entry) => `  ${entry.name.padEnd(commandWidth)}  ${entry.summary}${entry === DEFAULT_COMMAND ? ' (the default)' : ''}`),
          '',
        ]
      : []),
    'Options:',
    ...options.map((option) => `  ${option.label.padEnd(width)}  ${option.description}`),
    '',
    'Environment (options override it):',
    ...environmentHelp(command.environment),
  ].join('\n');
}

/** Picks the command from the first argument; anything that is not a command name belongs to the default one. */
function selectCommand(argv: readonly string[]): { command: CliCommand; args: string[]; isDefault: boolean } {
  const [first, ...rest] = argv;
  if (first === undefined || first.startsWith('-')) {
    return { command: DEFAULT_COMMAND, args: [...argv], isDefault: true };
  }
  const command = COMMANDS.find((entry) => entry.name === first);
  if (command === undefined) {
    throw new UsageError(`unknown command "${first}"; commands: ${COMMANDS.map((entry) => entry.name).join(', ')}`);
  }
  return { command, args: rest, isDefault: false };
}

function parse(command: CliCommand, args: string[]): CommandInput {
  const options: ParseArgsConfig['options'] = {};
  for (const [flag, option] of optionsOf(command)) {
    // parseArgs rejects a `short` that is present but undefined.
    options[flag] = option.short === undefined ? { type: option.type } : { type: option.type, short: option.short };
  }
  try {
    const { values, positionals } = parseArgs({ args, options, strict: true, allowPositionals: true });
    // No option is declared `multiple`, so no value is an array.
    return { values: values as CommandInput['values'], positionals };
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      // Node goes on to explain "--" for positionals starting with a dash; only its first sentence applies.
      throw new UsageError(message.split('. ')[0]);
    }
    if (code?.startsWith('ERR_PARSE_ARGS_')) {
      throw new UsageError(message.replace(/\s*\n/g, ' '));
    }
    throw error;
  }
}

/**
 * Runs the mlx-omni-server command line and resolves with the exit code. Usage and configuration
 * errors are one line on stderr and exit code 2, never a stack trace.
 */
export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  try {
    const { command, args, isDefault } = selectCommand(argv);
    const { values, positionals } = parse(command, args);
    if (values.help === true) {
      context.output.out(help(command, isDefault));
      return 0;
    }
    return await command.run({ values, positionals }, context);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof UsageError) {
      context.output.err(`${PROGRAM}: ${error.message}`);
      if (error instanceof UsageError) {
        context.output.err(`Run "${PROGRAM} --help" for usage.`);
      }
      return 2;
    }
    throw error;
  }
}
