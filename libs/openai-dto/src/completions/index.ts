export * from './completion-request.dto';
export * from './completion-response.dto';
