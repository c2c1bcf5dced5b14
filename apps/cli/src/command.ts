import type { loadConfig } from '@mlx-omni/config';

/** An environment as loadConfig reads it. */
export type Env = NonNullable<Parameters<typeof loadConfig>[0]>;

/** Where a command writes what the user reads; lines without their newline. */
export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
  /**
   * A status line that replaces the previous one (a progress bar), on a terminal only; absent when
   * output goes to a pipe or a file, where commands print plain lines instead.
   */
  progress?(line: string): void;
}

export interface CliContext {
  /** The environment the CLI was started with; commands read it only to hand it to loadConfig or children. */
  env: Env;
  output: CliOutput;
}

export interface CliOption {
  type: 'string' | 'boolean';
  /** One-letter alias, as in `-h`. */
  short?: string;
  /** Shown in the help as `--port <n>`; string options only. */
  valueName?: string;
  description: string;
}

export interface CommandInput {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** One subcommand of mlx-omni-server: `serve`, and later `models`, `keys`. Each lives in its own module under commands/. */
export interface CliCommand {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** What follows the command name in its usage line, e.g. `[options]` or `pull <repo> [options]`. */
  synopsis: string;
  options: Record<string, CliOption>;
  /** The environment variables it reads, for its help; absent: every variable (the server's own command). */
  environment?: readonly string[];
  /** Resolves with the process exit code. */
  run(input: CommandInput, context: CliContext): Promise<number>;
}

/** The command line cannot be understood: reported as one line and exit code 2, like a configuration error. */
export class UsageError extends Error {
  override name = 'UsageError';
}
