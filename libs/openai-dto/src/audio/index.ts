export * from './speech-request.dto';
export * from './transcription-request.dto';
export * from './transcription-response.dto';
