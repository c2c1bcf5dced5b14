import { runCli } from './cli';

/** Exits once stdout and stderr have drained: on macOS pipes are asynchronous, and `--help | less` must get every line. */
function exitAfterFlush(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

/** A progress line is redrawn in place; the next ordinary line first ends it. */
let progressShown = false;
const endProgress = (): void => {
  if (progressShown) {
    process.stdout.write('\n');
    progressShown = false;
  }
};

// The one place the CLI touches process.env and argv: everything below receives them as arguments.
runCli(process.argv.slice(2), {
  env: process.env,
  output: {
    out: (line) => {
      endProgress();
      process.stdout.write(`${line}\n`);
    },
    err: (line) => {
      endProgress();
      process.stderr.write(`${line}\n`);
    },
    ...(process.stdout.isTTY
      ? {
          progress: (line: string) => {
            // Carriage return and erase-line: the bar is rewritten where it stands.
            process.stdout.write(`\r\u001b[2K${line}`);
            progressShown = true;
          },
        }
      : {}),
  },
}).then(exitAfterFlush, (error: unknown) => {
  process.stderr.write(`mlx-omni-server: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  exitAfterFlush(1);
});
