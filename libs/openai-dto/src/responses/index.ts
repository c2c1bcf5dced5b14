export * from './response-request.dto';
export * from './response-object.dto';
