export * from './rerank.dto';
