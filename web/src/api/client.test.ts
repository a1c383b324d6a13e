import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, get, problemOf, refreshSession, setAccessToken } from './client';

function json(status: number, body: unknown, type = 'application/json') {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': type } });
}

afterEach(() => {
  vi.unstubAllGlobals();
  setAccessToken(null);
});

describe('problemOf', () => {
  it('reads a problem+json body', async () => {
    const e = await problemOf(json(422, { type: 'x', title: 'Unprocessable Content', status: 422, detail: 'target: required' }, 'application/problem+json'));
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(422);
    expect(e.title).toBe('Unprocessable Content');
    expect(e.message).toBe('target: required');
  });

  it('keeps the start of a body that is not JSON', async () => {
    const e = await problemOf(new Response('upstream timed out', { status: 502, statusText: 'Bad Gateway' }));
    expect(e.status).toBe(502);
    expect(e.detail).toBe('upstream timed out');
  });
});

describe('refreshSession', () => {
  it('sends one refresh however many callers ask at once (a refresh token works once)', async () => {
    const user = { id: 'u1', email: 'a@example.com', role: 'member' };
    const fetchMock = vi.fn(async () => json(200, { access_token: 'new-token', user }));
    vi.stubGlobal('fetch', fetchMock);
    const results = await Promise.all([refreshSession(), refreshSession(), refreshSession()]);
    expect(results).toEqual([user, user, user]);
    expect(fetchMock).toHaveBeenCalledTimes(1);
    // A later call refreshes again.
    await refreshSession();
    expect(fetchMock).toHaveBeenCalledTimes(2);
  });

  it('reports a refused refresh', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => json(401, { title: 'Unauthorized', detail: 'send refresh_token' })));
    expect(await refreshSession()).toBeNull();
  });
});

describe('request', () => {
  it('refreshes once on a 401 and retries with the new token', async () => {
    setAccessToken('expired');
    const seen: string[] = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string, init: RequestInit) => {
        if (url.endsWith('/auth/refresh')) return json(200, { access_token: 'fresh', user: { id: 'u1', email: 'a@example.com', role: 'member' } });
        const auth = new Headers(init.headers).get('Authorization') ?? '';
        seen.push(auth);
        return auth === 'Bearer fresh' ? json(200, { items: [1] }) : json(401, { title: 'Unauthorized', detail: 'expired' });
      }),
    );
    await expect(get<{ items: number[] }>('datasets')).resolves.toEqual({ items: [1] });
    expect(seen).toEqual(['Bearer expired', 'Bearer fresh']);
  });

  it('turns an error answer into an ApiError with the detail', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => json(404, { title: 'Not Found', detail: 'no dataset 42' })));
    await expect(get('datasets/42')).rejects.toMatchObject({ status: 404, detail: 'no dataset 42' });
  });

  it('turns a network failure into an ApiError with status 0', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => {
        throw new TypeError('Failed to fetch');
      }),
    );
    await expect(get('datasets')).rejects.toMatchObject({ status: 0, title: 'Network error' });
  });
});
