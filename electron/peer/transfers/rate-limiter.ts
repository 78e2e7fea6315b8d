export { TokenBucket, takeAll } from '../token-bucket.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
