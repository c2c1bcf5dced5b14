import { Template } from '@huggingface/jinja';
import { ChatTemplateError, TokenizerLoadError } from './errors';

/** A tool call as OpenAI puts it on an assistant message; `arguments` is a JSON string on the wire. */
export interface ChatToolCall {
  id?: string;
  type?: 'function';
  function: { name: string; arguments: string | Record<string, unknown> };
}

export interface ChatTextPart {
  type: 'text';
  text: string;
}

/** A chat message in OpenAI's shape. */
export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  content?: string | ChatTextPart[] | null;
  name?: string;
  tool_calls?: ChatToolCall[];
  tool_call_id?: string;
  /** Earlier reasoning of a thinking model, which some templates (Qwen3) re-insert. */
  reasoning_content?: string;
}

/** A tool in OpenAI's function format. */
export interface ChatTool {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean };
}

export interface ChatTemplateOptions {
  tools?: readonly ChatTool[];
  /** End with the header of an assistant turn so the model answers (default true). */
  addGenerationPrompt?: boolean;
  /** Extra template variables, e.g. `{ enable_thinking: false }` for Qwen3. */
  templateKwargs?: Record<string, unknown>;
}

/**
 * `for x in xs | reject("in", ys)` → `for x in xs if x not in ys`: the same loop in the loop-filter
 * form @huggingface/jinja knows (it has no select/reject filters). Qwen3-Coder's template needs it.
 */
const REJECT_IN_LOOP = /\{%(-?)\s*for\s+(\w+)\s+in\s+([^%]+?)\s*\|\s*reject\(\s*(["'])in\4\s*,\s*([^)]+?)\s*\)\s*(-?)%\}/g;

/**
 * `x | trim` on an undefined `x` is '' in Python's jinja2 but an error here; templates rely on it
 * (Qwen3-Coder trims `tool.description`, which OpenAI clients often leave out).
 */
const TRIM_FILTER = /\|\s*trim\b/g;

/** Rewrites constructs the renderer lacks or treats differently into equivalent ones, so published templates render as in Python. */
function withCompatibleSyntax(template: string): string {
  return template
    .replace(REJECT_IN_LOOP, (_match, open: string, item: string, items: string, _quote: string, excluded: string, close: string) =>
      `{%${open} for ${item} in ${items} if ${item} not in ${excluded} ${close}%}`,
    )
    .replace(TRIM_FILTER, '| default("") | trim');
}

/** A model's chat templates, parsed once: either one template or several by name (`default`, `tool_use`, …). */
export class ChatTemplates {
  private constructor(private readonly byName: ReadonlyMap<string, Template>) {}

  /** Accepts `chat_template` as tokenizer_config.json or chat_template.jinja give it: one string or a list of named templates. */
  static parse(source: string | ReadonlyArray<{ name: string; template: string }>): ChatTemplates {
    const entries = typeof source === 'string' ? [{ name: 'default', template: source }] : source;
    const byName = new Map<string, Template>();
    for (const { name, template } of entries) {
      try {
        byName.set(name, new Template(withCompatibleSyntax(template)));
      } catch (error) {
        throw new TokenizerLoadError(`chat template '${name}' does not parse: ${(error as Error).message}`);
      }
    }
    return new ChatTemplates(byName);
  }

  /** Renders the conversation the way transformers' `apply_chat_template` does, after normalising the OpenAI message shape. */
  render(messages: readonly ChatMessage[], specialTokens: Record<string, string>, options: ChatTemplateOptions): string {
    const tools = options.tools && options.tools.length > 0 ? options.tools : undefined;
    // transformers picks the `tool_use` template when tools are given and the model has one.
    const template = (tools && this.byName.get('tool_use')) || this.byName.get('default');
    if (!template) {
      throw new ChatTemplateError(`the model has no default chat template (it has: ${[...this.byName.keys()].join(', ')})`);
    }
    try {
      return template.render({
        ...specialTokens,
        ...options.templateKwargs,
        messages: normaliseMessages(messages),
        tools,
        add_generation_prompt: options.addGenerationPrompt ?? true,
      });
    } catch (error) {
      throw new ChatTemplateError(`the chat template rejected the messages: ${(error as Error).message}`);
    }
  }
}

type TemplateMessage = Omit<ChatMessage, 'content' | 'role'> & { role: string; content: string };

/**
 * Brings OpenAI messages into the shape chat templates are written for (the one transformers
 * documents), since templates call string methods on `content` and index into tool calls.
 */
function normaliseMessages(messages: readonly ChatMessage[]): TemplateMessage[] {
  const toolNames = new Map<string, string>();
  for (const message of messages) {
    for (const call of message.tool_calls ?? []) {
      if (call.id) {
        toolNames.set(call.id, call.function.name);
      }
    }
  }
  return messages.map((message) => {
    const normalised: TemplateMessage = {
      ...message,
      // Templates predate the `developer` role; it means what `system` means to them.
      role: message.role === 'developer' ? 'system' : message.role,
      content: contentText(message.content),
    };
    if (message.tool_calls) {
      normalised.tool_calls = message.tool_calls.map((call) => ({
        ...call,
        function: { ...call.function, arguments: argumentsObject(call.function.arguments) },
      }));
    }
    // Several templates (Llama 3.1, Mistral) label a tool result with the function's name, which
    // OpenAI only gives on the assistant's call.
    if (message.role === 'tool' && message.name === undefined && message.tool_call_id !== undefined) {
      const name = toolNames.get(message.tool_call_id);
      if (name !== undefined) {
        normalised.name = name;
      }
    }
    return normalised;
  });
}

function contentText(content: ChatMessage['content']): string {
  if (content === null || content === undefined) {
    // OpenAI sends `null` content on assistant messages that only call tools.
    return '';
  }
  if (typeof content === 'string') {
    return content;
  }
  return content
    .map((part) => {
      if (part.type !== 'text') {
        throw new ChatTemplateError(`message content of type '${(part as { type: string }).type}' is not supported by a text model`);
      }
      return part.text;
    })
    .join('\n');
}

/**
 * Templates render arguments with `| tojson` and expect a mapping (transformers' documented
 * shape); a JSON-string argument would come out double-encoded. Templates that print arguments
 * without a filter still get JSON, as that is how @huggingface/jinja prints a mapping. Strings
 * that are not a JSON object are passed through as they are.
 */
function argumentsObject(args: string | Record<string, unknown>): string | Record<string, unknown> {
  if (typeof args !== 'string') {
    return args;
  }
  try {
    const parsed: unknown = JSON.parse(args);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : args;
  } catch {
    // Not JSON: the model (or client) produced free text, which the template may print as is.
    return args;
  }
}
