import { resolve } from 'node:path';
import { ConfigError, loadConfig } from './config';

describe('loadConfig', () => {
  it('uses the reference server’s defaults on an empty environment', () => {
    const config = loadConfig({ HOME: '/home/someone' });
    expect(config).toMatchObject({ host: '127.0.0.1', port: 10240, workers: 1, logLevel: 'info', redisUrl: undefined });
    expect(config.hfHubCache).toMatch(/\.cache\/huggingface\/hub$/);
  });

  it('derives the hub cache from HF_HOME unless HF_HUB_CACHE is given', () => {
    expect(loadConfig({ HF_HOME: '/data/hf' }).hfHubCache).toBe('/data/hf/hub');
    expect(loadConfig({ HF_HOME: '/data/hf', HF_HUB_CACHE: '/models' }).hfHubCache).toBe('/models');
  });

  it('leaves keys, CORS and rate limits off by default', () => {
    expect(loadConfig({})).toMatchObject({
      apiKey: undefined,
      keysFile: undefined,
      protectOps: false,
      corsOrigins: [],
      rateLimits: { requestsPerMinute: 0, tokensPerMinute: 0, concurrent: 0 },
    });
    expect(loadConfig({ MLX_OMNI_CORS_ORIGINS: ' https://a.example.com ,http://localhost:3000' }).corsOrigins).toEqual(['https://a.example.com', 'http://localhost:3000']);
  });

  it('preloads the BLAS shim into workers unless turned off', () => {
    expect(loadConfig({}).blasShim).toBe(true);
    expect(loadConfig({ MLX_OMNI_BLAS_SHIM: 'false' }).blasShim).toBe(false);
  });

  it('logs prompt text only when asked to', () => {
    expect(loadConfig({}).logPrompts).toBe(false);
    expect(loadConfig({ MLX_OMNI_LOG_PROMPTS: 'true' }).logPrompts).toBe(true);
    expect(loadConfig({ MLX_OMNI_LOG_PROMPTS: '0' }).logPrompts).toBe(false);
  });

  it('reads the model settings: lists, switches and the Hub endpoint', () => {
    const config = loadConfig({
      MLX_OMNI_MODEL_DIRS: '/models/a:relative',
      MLX_OMNI_PRELOAD_MODELS: 'org/one, org/two,',
      MLX_OMNI_AUTO_DOWNLOAD: 'true',
      HF_ENDPOINT: 'http://127.0.0.1:9000/',
    });
    expect(config).toMatchObject({ preloadModels: ['org/one', 'org/two'], autoDownload: true, hfEndpoint: 'http://127.0.0.1:9000', hfToken: undefined });
    expect(config.modelDirs).toEqual(['/models/a', resolve('relative')]);
    expect(loadConfig({})).toMatchObject({ modelDirs: [], preloadModels: [], autoDownload: false, modelIdleTtlS: 0, hfEndpoint: 'https://huggingface.co' });
  });

  it('reads model aliases in order, a trailing * matching any rest of the name, and the responses TTL', () => {
    const config = loadConfig({ MLX_OMNI_MODEL_ALIASES: 'claude-sonnet-4-5=org/big, claude-haiku-*=org/small', MLX_OMNI_RESPONSES_TTL_S: '3600' });
    expect(config.modelAliases).toEqual([
      { name: 'claude-sonnet-4-5', model: 'org/big' },
      { name: 'claude-haiku-*', model: 'org/small' },
    ]);
    expect(config.responsesTtlS).toBe(3600);
    expect(loadConfig({})).toMatchObject({ modelAliases: [], responsesTtlS: 30 * 24 * 3600 });
  });

  it.each([
    [{ MLX_OMNI_MODEL_ALIASES: 'claude' }, 'MLX_OMNI_MODEL_ALIASES must be comma-separated name=model pairs (a name may end in *), got "claude"'],
    [{ MLX_OMNI_MODEL_ALIASES: 'cl*ude=org/m' }, 'MLX_OMNI_MODEL_ALIASES must be comma-separated name=model pairs'],
    [{ MLX_OMNI_RESPONSES_TTL_S: '5' }, 'MLX_OMNI_RESPONSES_TTL_S must be between 60 and 31536000, got 5'],
    [{ PORT: 'eighty' }, 'PORT must be a whole number, got "eighty"'],
    [{ PORT: '70000' }, 'PORT must be between 0 and 65535, got 70000'],
    [{ WORKERS: '0' }, 'WORKERS must be between 1 and 64, got 0'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL must start with redis:// or rediss://'],
    [{ MLX_OMNI_LOG_LEVEL: 'loud' }, 'MLX_OMNI_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, got "loud"'],
    [{ MLX_OMNI_QUANTIZED_WEIGHTS: 'half' }, 'MLX_OMNI_QUANTIZED_WEIGHTS must be one of auto, quantized, dequantized, got "half"'],
    [{ HOST: 'local host' }, 'HOST must be a host name or IP address'],
    [{ MLX_OMNI_API_KEY: 'short' }, 'MLX_OMNI_API_KEY must be at least 16 characters, got 5'],
    [{ MLX_OMNI_CORS_ORIGINS: 'https://ok.example.com, app.example.com' }, 'MLX_OMNI_CORS_ORIGINS must be * or comma-separated origins'],
    [{ MLX_OMNI_PROTECT_OPS: 'yes' }, 'MLX_OMNI_PROTECT_OPS must be true or false, got "yes"'],
    [{ HF_ENDPOINT: 'ftp://hub' }, 'HF_ENDPOINT must start with http:// or https://'],
    [{ MLX_OMNI_LOG_PROMPTS: 'yes' }, 'MLX_OMNI_LOG_PROMPTS must be true or false, got "yes"'],
  ])('rejects %p naming the setting', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
