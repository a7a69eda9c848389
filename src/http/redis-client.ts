import { Redis } from 'ioredis';

// A file of its own so that ioredis (~10 MB resident) loads only in a process given REDIS_URL.
/** A client for `REDIS_URL`; it connects in the background and reconnects by itself. */
export function openRedis(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: 0, connectTimeout: 2000 });
}
