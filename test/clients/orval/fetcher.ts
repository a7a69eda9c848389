// orval's fetch client parses every body as JSON; this mutator parses by the answer's
// Content-Type, so the PDF arrives as a Blob (the type orval gives application/pdf).
export const baseUrl = { current: '', token: '' };

export async function fetcher<T>(url: string, init: RequestInit): Promise<T> {
  const response = await fetch(`${baseUrl.current}${url}`, {
    ...init,
    headers: { ...init.headers, Authorization: `Bearer ${baseUrl.token}` },
  });
  const type = response.headers.get('content-type') ?? '';
  const data = type.startsWith('application/json') ? await response.json() : await response.blob();
  return { data, status: response.status, headers: response.headers } as T;
}
