import { runCli } from './cli';

/** Exits once stdout and stderr have drained: on macOS pipes are asynchronous, and `--help | less` must get every line. */
function exitAfterFlush(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

// The one place the CLI touches process.env and argv: everything below receives them as arguments.
runCli(process.argv.slice(2), {
  env: process.env,
  output: {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  },
}).then(exitAfterFlush, (error: unknown) => {
  process.stderr.write(`mlx-omni-server: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  exitAfterFlush(1);
});
