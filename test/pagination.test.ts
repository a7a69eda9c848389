import { encodeCursor, paginate, type CursorKeys } from '../src/http/pagination';

interface Row {
  id: string;
  version: number;
}

// Versions 1..7 listed newest first, as `listResourceVersions` does.
const rows: Row[] = [7, 6, 5, 4, 3, 2, 1].map((version) => ({ id: `v${version}`, version }));
const fetched: { after: [number] | undefined; limitPlusOne: number }[] = [];
const versions = (query: { limit?: number; cursor?: string }, binding: unknown = { list: 'versions', resource: 'res_1' }) =>
  paginate({
    query,
    binding,
    keyKinds: ['integer'],
    fetch: (after, limitPlusOne) => {
      fetched.push({ after, limitPlusOne });
      return rows.filter((row) => after === undefined || row.version < after[0]).slice(0, limitPlusOne);
    },
    keysOf: (row) => [row.version],
    toItem: (row) => row.id,
  });

beforeEach(() => {
  fetched.length = 0;
});

describe('paginate', () => {
  it('answers the first `limit` items, asking for one more row to know whether another page follows', async () => {
    const page = await versions({ limit: 3 });
    expect(page.data).toEqual(['v7', 'v6', 'v5']);
    expect(page.has_more).toBe(true);
    expect(page.next_cursor).toEqual(expect.any(String));
    expect(fetched).toEqual([{ after: undefined, limitPlusOne: 4 }]);
  });

  it('answers 50 items when no limit is given', async () => {
    await versions({});
    expect(fetched).toEqual([{ after: undefined, limitPlusOne: 51 }]);
  });

  it('answers the next page from the cursor, and no cursor on the last page', async () => {
    const first = await versions({ limit: 3 });
    const second = await versions({ limit: 3, cursor: first.next_cursor! });
    expect(fetched[1]).toEqual({ after: [5], limitPlusOne: 4 });
    expect(second).toEqual({ data: ['v4', 'v3', 'v2'], next_cursor: expect.any(String), has_more: true });
    const last = await versions({ limit: 3, cursor: second.next_cursor! });
    expect(last).toEqual({ data: ['v1'], next_cursor: null, has_more: false });
  });

  it('answers no cursor when the rows fill the page exactly', async () => {
    expect(await versions({ limit: 7 })).toEqual({ data: ['v7', 'v6', 'v5', 'v4', 'v3', 'v2', 'v1'], next_cursor: null, has_more: false });
  });

  it('refuses a cursor made for another binding (other filters or sort) with invalid_cursor', async () => {
    const first = await versions({ limit: 3 });
    await expect(versions({ limit: 3, cursor: first.next_cursor! }, { list: 'versions', resource: 'res_2' })).rejects.toMatchObject({
      code: 'invalid_cursor',
      details: [{ field: 'query.cursor', issue: 'made for other filters or sort' }],
    });
    expect(fetched).toHaveLength(1);
  });

  it('refuses a corrupt cursor, or one whose keys are not of the kinds the list sorts by', async () => {
    const binding = { list: 'versions', resource: 'res_1' };
    const corrupt = { code: 'invalid_cursor', details: [{ field: 'query.cursor', issue: 'corrupt cursor' }] };
    await expect(versions({ cursor: 'bm90LWpzb24' }, binding)).rejects.toMatchObject(corrupt);
    await expect(versions({ cursor: encodeCursor(['5'] as CursorKeys, binding) }, binding)).rejects.toMatchObject(corrupt);
    await expect(versions({ cursor: encodeCursor([5, 4], binding) }, binding)).rejects.toMatchObject(corrupt);
    expect(fetched).toHaveLength(0);
  });

  it('binds the cursor to the binding whatever the order of its keys', async () => {
    const first = await versions({ limit: 2 }, { list: 'versions', resource: 'res_1' });
    const second = await versions({ limit: 2, cursor: first.next_cursor! }, { resource: 'res_1', list: 'versions' });
    expect(second.data).toEqual(['v5', 'v4']);
  });
});
