import { loadConfig } from '@mlx-omni/config';
import { runCli } from './cli';
import type { Env } from './command';
import { applyFlags, serveCommand } from './commands/serve.command';
import { ENVIRONMENT_VARIABLES } from './environment-help';
import { WORKER_ID_VARIABLE } from './supervisor/supervisor';

/** Runs the CLI with the given arguments and environment, collecting what it prints. */
async function cli(argv: string[], env: Env = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { env, output: { out: (line) => out.push(line), err: (line) => err.push(line) } });
  return { code, out: out.join('\n'), err };
}

describe('mlx-omni-server command line', () => {
  it.each([['--help'], ['-h'], ['serve', '--help']])('%s prints the usage with every flag and environment variable', async (...argv) => {
    const { code, out, err } = await cli(argv);
    expect(code).toBe(0);
    expect(err).toEqual([]);
    for (const flag of ['--port <n>', '--host <host>', '--workers <n>', '--log-level <level>', '--help']) {
      expect(out).toContain(flag);
    }
    for (const variable of ['PORT', 'HOST', 'REDIS_URL', 'WORKERS', 'HF_HOME', 'HF_HUB_CACHE', 'MLX_OMNI_LOG_LEVEL']) {
      expect(out).toMatch(new RegExp(`^  ${variable} `, 'm'));
    }
    expect(out).toContain('(default 10240)');
  });

  it.each([
    ['keys', ['--rpm <n>', '--tpm <n>', '--concurrency <n>', '--file <path>'], ['MLX_OMNI_KEYS_FILE', 'MLX_OMNI_RATE_LIMIT_RPM']],
    ['models', ['--api-key <key>', '--revision <rev>'], ['PORT', 'HOST', 'MLX_OMNI_CLI_KEY', 'HF_HUB_CACHE']],
  ])('%s --help shows that command’s usage and only the environment it reads', async (command, flags, variables) => {
    const { code, out } = await cli([command, '--help']);
    expect(code).toBe(0);
    expect(out.split('\n')[0]).toMatch(new RegExp(`^Usage: mlx-omni-server ${command} `));
    for (const flag of flags) {
      expect(out).toContain(flag);
    }
    const listed = [...out.matchAll(/^ {2}([A-Z_]+) /gm)].map((match) => match[1]);
    expect(listed.sort()).toEqual(expect.arrayContaining(variables));
    expect(listed).not.toContain('MLX_OMNI_SHUTDOWN_GRACE_MS');
    expect(out).not.toContain('Commands:');
  });

  it.each([
    [['--port', 'abc'], {}, 'Invalid configuration: PORT must be a whole number, got "abc"'],
    [['serve', '--workers', '0'], {}, 'Invalid configuration: WORKERS must be between 1 and 64, got 0'],
    [['--log-level', 'loud'], {}, 'Invalid configuration: MLX_OMNI_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, got "loud"'],
    [[], { REDIS_URL: 'localhost:6379' }, 'Invalid configuration: REDIS_URL must start with redis:// or rediss://, got "localhost:6379"'],
    // The flag wins over the environment: the valid PORT from env is replaced by the invalid flag.
    [['--port', '70000'], { PORT: '8080' }, 'Invalid configuration: PORT must be between 0 and 65535, got 70000'],
  ])('%j with %j fails with one line naming the setting and exit code 2', async (argv, env, message) => {
    const { code, out, err } = await cli(argv, env);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toEqual([`mlx-omni-server: ${message}`]);
  });

  it.each([
    [['--bogus'], "Unknown option '--bogus'"],
    [['--port'], "'--port <value>' argument missing"],
    [['--port', '-1'], "'--port' argument is ambiguous"],
    [['frobnicate'], 'unknown command "frobnicate"; commands: serve, keys'],
    [['serve', 'extra'], 'serve takes no arguments, got "extra"'],
  ])('%j is a usage error: one line saying why, a pointer to --help, exit code 2', async (argv, reason) => {
    const { code, err } = await cli(argv);
    expect(code).toBe(2);
    expect(err).toHaveLength(2);
    expect(err[0]).toMatch(/^mlx-omni-server: [^\n]+$/);
    expect(err[0]).toContain(reason);
    expect(err[1]).toBe('Run "mlx-omni-server --help" for usage.');
  });

  it('writes the flags over the environment the children get, leaving the rest as it was', () => {
    const env = { PORT: '8080', HOST: '0.0.0.0', HF_HOME: '/models', WORKERS: '3' };
    const merged = applyFlags({ port: '9000', workers: '2', 'log-level': 'debug' }, env);
    expect(merged).toEqual({ PORT: '9000', HOST: '0.0.0.0', HF_HOME: '/models', WORKERS: '2', MLX_OMNI_LOG_LEVEL: 'debug' });
    expect(env.PORT).toBe('8080');
    expect(loadConfig(merged)).toMatchObject({ port: 9000, host: '0.0.0.0', workers: 2, logLevel: 'debug' });
  });

  it('documents exactly the variables the configuration reads, but the one the supervisor sets', () => {
    const read = new Set<string>();
    loadConfig(new Proxy<Env>({}, { get: (_target, name) => void read.add(String(name)) }));
    const documented = ENVIRONMENT_VARIABLES.map((variable) => variable.name);
    expect([...documented, WORKER_ID_VARIABLE].sort()).toEqual([...read].sort());
    for (const flag of Object.keys(serveCommand.options)) {
      expect(read).toContain(Object.keys(applyFlags({ [flag]: 'x' }, {}))[0]);
    }
  });
});
