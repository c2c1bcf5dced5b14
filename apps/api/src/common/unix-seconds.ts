/** OpenAI's timestamps (`created`, `created_at`, …) are whole Unix seconds. */
export const unixSeconds = (millis: number): number => Math.floor(millis / 1000);
