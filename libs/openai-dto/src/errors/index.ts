export * from './error-response.dto';
