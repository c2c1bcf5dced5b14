export * from './embedding-request.dto';
export * from './embedding-response.dto';
