export * from './chat-completion-request.dto';
export * from './chat-completion-response.dto';
