// Talks to the platform's REST API. The access token (JWT) lives only in memory; the refresh
// token is an httpOnly, SameSite=Strict cookie scoped to /api/v1/auth that scripts cannot read,
// so a script injected into the page cannot steal a lasting session. On start-up, and whenever
// the access token is refused, one refresh call (shared by every caller, since a refresh token
// works once) gets a new access token from the cookie.

export const API = '/api/v1';

export interface User {
  id: string;
  email: string;
  role: 'admin' | 'member' | 'viewer';
}

// An error answered by the API as application/problem+json (or a network failure).
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly body: unknown = null,
  ) {
    super(detail || title);
  }
}

// Whether this browser signed in and has not signed out: not a secret (the session is the
// httpOnly cookie), only spares a refresh call (and its 401) when there is surely no session.
const HINT = 'playground.signed-in';
function setHint(on: boolean) {
  try {
    if (on) localStorage.setItem(HINT, '1');
    else localStorage.removeItem(HINT);
  } catch {
    // storage disabled: every start-up tries the refresh
  }
}
export function mayHaveSession(): boolean {
  try {
    return localStorage.getItem(HINT) !== null;
  } catch {
    return true;
  }
}

let accessToken: string | null = null;
let refreshing: Promise<User | null> | null = null;
let onSignedOut: (() => void) | null = null;

export function setAccessToken(token: string | null) {
  accessToken = token;
}
export function hasAccessToken() {
  return accessToken !== null;
}
export function onSessionEnded(callback: (() => void) | null) {
  onSignedOut = callback;
}

export async function problemOf(res: Response): Promise<ApiError> {
  let body: unknown = null;
  const text = await res.text();
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  const p = (body ?? {}) as { title?: string; detail?: string };
  const title = p.title ?? res.statusText ?? `HTTP ${res.status}`;
  const detail = p.detail ?? (text && !body ? text.slice(0, 300) : title);
  return new ApiError(res.status, title, detail, body);
}

// Exchanges the refresh cookie for a new access token; concurrent callers share one request.
// The account signed in, or null when there is no session.
export function refreshSession(): Promise<User | null> {
  if (!refreshing) {
    refreshing = (async () => {
      try {
        const res = await fetch(`${API}/auth/refresh`, { method: 'POST', credentials: 'same-origin' });
        if (!res.ok) {
          accessToken = null;
          setHint(false);
          return null;
        }
        const body = (await res.json()) as { access_token: string; user: User };
        accessToken = body.access_token;
        return body.user;
      } catch {
        return null;
      } finally {
        refreshing = null;
      }
    })();
  }
  return refreshing;
}

function headersFor(init: RequestInit): Headers {
  const h = new Headers(init.headers);
  if (accessToken) h.set('Authorization', `Bearer ${accessToken}`);
  if (init.body && typeof init.body === 'string' && !h.has('Content-Type')) h.set('Content-Type', 'application/json');
  return h;
}

// fetch with the access token; a 401 refreshes once and tries again.
export async function request(path: string, init: RequestInit = {}): Promise<Response> {
  const url = path.startsWith('/') ? path : `${API}/${path}`;
  let res: Response;
  try {
    res = await fetch(url, { ...init, headers: headersFor(init), credentials: 'same-origin' });
    if (res.status === 401 && !path.startsWith('auth/')) {
      if (await refreshSession()) {
        res = await fetch(url, { ...init, headers: headersFor(init), credentials: 'same-origin' });
      } else {
        onSignedOut?.();
      }
    }
  } catch (e) {
    throw new ApiError(0, 'Network error', `the server did not answer (${(e as Error).message})`);
  }
  if (!res.ok) throw await problemOf(res);
  return res;
}

export async function get<T>(path: string, signal?: AbortSignal): Promise<T> {
  return (await request(path, { signal })).json() as Promise<T>;
}

export async function send<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await request(path, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export async function signIn(email: string, password: string): Promise<User> {
  const body = await send<{ access_token: string; user: User }>('POST', 'auth/login', { email, password });
  accessToken = body.access_token;
  setHint(true);
  return body.user;
}

export async function signOut(): Promise<void> {
  try {
    await send('POST', 'auth/logout');
  } finally {
    accessToken = null;
    setHint(false);
  }
}

// Saves what `path` answers as a file (the request carries the access token, which a plain
// link could not).
export async function downloadFile(path: string, filename: string): Promise<void> {
  const res = await request(path);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// Uploads a file as multipart/form-data, reporting the bytes sent (fetch cannot report upload
// progress, XMLHttpRequest can).
export function upload<T>(
  path: string,
  form: FormData,
  onProgress: (sent: number, total: number) => void,
): { promise: Promise<T>; abort: () => void } {
  const xhr = new XMLHttpRequest();
  const promise = new Promise<T>((resolve, reject) => {
    const start = (retried: boolean) => {
      xhr.open('POST', `${API}/${path}`);
      if (accessToken) xhr.setRequestHeader('Authorization', `Bearer ${accessToken}`);
      xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : 0);
      xhr.onerror = () => reject(new ApiError(0, 'Network error', 'the upload was interrupted'));
      xhr.onabort = () => reject(new ApiError(0, 'Cancelled', 'the upload was cancelled'));
      xhr.onload = async () => {
        if (xhr.status === 401 && !retried && (await refreshSession())) {
          start(true);
          return;
        }
        const res = new Response(xhr.responseText, {
          status: xhr.status,
          headers: { 'Content-Type': xhr.getResponseHeader('Content-Type') ?? '' },
        });
        if (xhr.status >= 200 && xhr.status < 300) resolve(JSON.parse(xhr.responseText) as T);
        else reject(await problemOf(res));
      };
      xhr.send(form);
    };
    start(false);
  });
  return { promise, abort: () => xhr.abort() };
}
