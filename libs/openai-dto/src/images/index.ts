export * from './create-image-request.dto';
export * from './images-response.dto';
