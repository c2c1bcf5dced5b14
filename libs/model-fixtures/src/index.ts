export * from './specs';
export * from './tensor-layout';
export { ensureFixtures, fixtureRevision } from './ensure-fixtures';
export { repoFolderName, snapshotDir } from './hub-cache';
export { testHubDir } from './test-hub';
export { ensureWhisperFixtures, whisperTensorLayout, WHISPER_BENCH_FIXTURE_SPEC, WHISPER_FIXTURE_SPECS, type WhisperDims, type WhisperFixtureSpec } from './whisper-fixtures';
export { whisperTokenizerFiles } from './whisper-tokenizer';
export { saveNpz } from './npz-writer';
export { speak } from './speech';
