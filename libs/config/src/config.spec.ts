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

  it.each([
    [{ PORT: 'eighty' }, 'PORT must be a whole number, got "eighty"'],
    [{ PORT: '70000' }, 'PORT must be between 0 and 65535, got 70000'],
    [{ WORKERS: '0' }, 'WORKERS must be between 1 and 64, got 0'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL must start with redis:// or rediss://'],
    [{ MLX_OMNI_LOG_LEVEL: 'loud' }, 'MLX_OMNI_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, got "loud"'],
    [{ HOST: 'local host' }, 'HOST must be a host name or IP address'],
  ])('rejects %p naming the setting', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
