// The measurements of a keyset-paged listing that the listing benchmarks share: walk to a far
// page, median latency of page 1 and of that page, and requests/s at 32 connections.

import { medianMs, requestsPerSecond } from './bench-server';

const SAMPLES = 41;
const CONNECTIONS = 32;
const LOAD_SECONDS = 10;

export interface ListPage<Item> {
  data: Item[];
  next_cursor: string | null;
}

/** Measures `GET <base><path>` (path with its query) and prints the figures; answers the last item before the far page. */
export async function benchListing<Item>(base: string, token: string, path: string, farPage: number): Promise<{ lastBeforeFar: Item }> {
  const headers = { Authorization: `Bearer ${token}` };
  const get = async (cursor?: string): Promise<ListPage<Item>> => {
    const response = await fetch(`${base}${path}${cursor ? `&cursor=${cursor}` : ''}`, { headers });
    if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as ListPage<Item>;
  };
  let cursor: string | null | undefined;
  let lastBeforeFar: Item | undefined;
  const started = Date.now();
  for (let page = 1; page < farPage; page++) {
    const body = await get(cursor ?? undefined);
    cursor = body.next_cursor;
    lastBeforeFar = body.data.at(-1);
    if (!cursor) throw new Error(`the filter has only ${page} pages; raise --count`);
  }
  console.log(`walked to page ${farPage} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const first = await medianMs(() => get(), SAMPLES);
  const far = await medianMs(() => get(cursor!), SAMPLES);
  console.log(`GET ${path}`);
  console.log(
    `  page 1: median ${first.toFixed(1)} ms; page ${farPage}: median ${far.toFixed(1)} ms; ratio ${(far / first).toFixed(2)} (target ≤ 1.2) ${far / first <= 1.2 ? 'MET' : 'NOT MET'}`,
  );

  const rate = await requestsPerSecond(() => get(), CONNECTIONS, LOAD_SECONDS);
  console.log(`  ${CONNECTIONS} concurrent connections, page 1: ${rate.toFixed(0)} requests/s`);
  return { lastBeforeFar: lastBeforeFar! };
}
