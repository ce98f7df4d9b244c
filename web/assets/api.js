// The public JSON API of API.md, same origin. getJSON() resolves to { data, headers } or throws
// an ApiError whose status is the HTTP status (0 when the server could not be reached). A 429
// from the gateway's rate limiter is retried after its Retry-After (a few times, bounded), since
// a person typing a search can outrun 5 requests a second.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

const RETRIES_429 = 4;

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new DOMException('aborted', 'AbortError'));
      return;
    }
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(new DOMException('aborted', 'AbortError'));
    }, { once: true });
  });
}

function retryAfterMs(res) {
  const v = Number.parseFloat(res.headers.get('Retry-After') || '');
  const ms = Number.isFinite(v) ? v * 1000 : 1000;
  return Math.min(Math.max(ms, 200), 5000);
}

export async function getJSON(path, { signal } = {}) {
  for (let attempt = 0; ; attempt++) {
    let res;
    try {
      res = await fetch(path, { signal, headers: { Accept: 'application/json' } });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new ApiError(0, 'the server could not be reached');
    }
    if (res.status === 429 && attempt < RETRIES_429) {
      await sleep(retryAfterMs(res), signal);
      continue;
    }
    const text = await res.text();
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = undefined;
    }
    if (!res.ok) {
      const msg = body && typeof body.error === 'string' ? body.error : `HTTP ${res.status}`;
      throw new ApiError(res.status, msg);
    }
    if (body === undefined) throw new ApiError(res.status, 'the server answered with something that is not JSON');
    return { data: body, headers: res.headers };
  }
}

/** What to tell a person about a failed request: { title, detail }. */
export function describeError(err, what = 'the registry') {
  const said = err && err.message ? err.message : String(err);
  switch (err && err.status) {
    case 0:
      return { title: 'Cannot reach the server', detail: `The request for ${what} did not get through (${said}). Check your connection, then retry.` };
    case 503:
    case 502:
    case 504:
      return { title: 'The registry is unavailable', detail: `The server answered ${err.status} (${said}). The registry service may be restarting; try again in a moment.` };
    case 429:
      return { title: 'Too many requests', detail: `The server is rate-limiting this address (${said}). Wait a few seconds, then retry.` };
    case 404:
      return { title: 'Not found', detail: said };
    case 400:
      return { title: 'The request was refused', detail: `The server answered 400: ${said}.` };
    default:
      return { title: 'Something went wrong', detail: `The request for ${what} failed${err && err.status ? ` with HTTP ${err.status}` : ''}: ${said}.` };
  }
}
