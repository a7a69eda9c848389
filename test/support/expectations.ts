import type { Response } from 'supertest';

export const REQUEST_ID = /^req_[0-9A-HJKMNP-TV-Z]{26}$/;

/** The headers the spec declares on every response: the request id and the rate-limit trio. */
export function expectStandardHeaders(response: Response): void {
  expect(response.headers['x-request-id']).toMatch(REQUEST_ID);
  expect(response.headers['x-ratelimit-limit']).toMatch(/^\d+$/);
  expect(response.headers['x-ratelimit-remaining']).toMatch(/^\d+$/);
  // Epoch seconds, as the spec says, so within the longest window from now (signup's hour).
  const reset = Number(response.headers['x-ratelimit-reset']);
  expect(reset).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000));
  expect(reset).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 3600);
}

/** A response in the spec's error shape, with this status and code and the standard headers. */
export function expectError(response: Response, status: number, code: string): void {
  expect({ status: response.status, body: response.body as unknown }).toEqual({
    status,
    body: {
      error: {
        code,
        message: expect.any(String),
        request_id: response.headers['x-request-id'],
        details: expect.any(Array),
      },
    },
  });
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  expectStandardHeaders(response);
}
