export * from './specs';
export * from './tensor-layout';
export { ensureFixtures, fixtureRevision } from './ensure-fixtures';
export { repoFolderName, snapshotDir } from './hub-cache';
export { testHubDir } from './test-hub';
export * from './kokoro';
