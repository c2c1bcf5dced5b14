/**
 * `mlx-omni-server/testing`: the server in your test process, with OpenAI and Anthropic clients
 * bound to it.
 *
 * ```ts
 * const server = await startInProcessServer({ env: { HF_HUB_CACHE: '/path/to/models' } });
 * const reply = await server.openai.chat.completions.create({ model: 'org/model', messages: [{ role: 'user', content: 'Hi' }] });
 * await server.close();
 * ```
 */
export { startInProcessServer, type InProcessServer, type InProcessServerOptions } from './in-process-server';
