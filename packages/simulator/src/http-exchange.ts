import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** Salesforce answers REST calls with this content type. */
export const jsonContentType = 'application/json;charset=UTF-8';

export type BodyResult = { kind: 'ok'; body: Buffer } | { kind: 'too-large' } | { kind: 'aborted' };

/**
 * Reads a request body of at most `maxBytes`. On overflow it stops keeping the data but keeps
 * draining it, so the 413 can still reach a client that is mid-upload.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) {
    req.resume();
    return Promise.resolve({ kind: 'too-large' });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > maxBytes) {
        tooLarge = true;
        chunks.length = 0;
        resolve({ kind: 'too-large' });
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!tooLarge)
        resolve({
          kind: 'ok',
          body: chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks),
        });
    });
    // After 'end' this is a no-op: the promise has settled already.
    req.on('error', () => resolve({ kind: 'aborted' }));
    req.on('close', () => resolve({ kind: 'aborted' }));
  });
}

/** Whether the answer can still be written (the client may have gone, or the server closed). */
export function canAnswer(res: ServerResponse): boolean {
  return !res.headersSent && !res.destroyed && !res.socket?.destroyed;
}

export function send(
  res: ServerResponse,
  status: number,
  contentType: string | null,
  body: string,
  headers: OutgoingHttpHeaders = {},
): void {
  if (!canAnswer(res)) return;
  const all: OutgoingHttpHeaders = { ...headers, 'content-length': Buffer.byteLength(body) };
  if (contentType !== null) all['content-type'] = contentType;
  res.writeHead(status, all);
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: string,
  headers: OutgoingHttpHeaders = {},
): void {
  send(res, status, jsonContentType, body, headers);
}

/** An HTML error page such as an edge proxy in front of the API would serve. */
export function sendHtmlError(
  res: ServerResponse,
  status: number,
  title: string,
  headers: OutgoingHttpHeaders = {},
): void {
  const page = `<!DOCTYPE html>\n<html><head><title>${status} ${title}</title></head><body><h1>${title}</h1><p>The server encountered a temporary error and could not complete your request.</p></body></html>\n`;
  send(res, status, 'text/html; charset=UTF-8', page, headers);
}

/** `/path?x=1` → path and query, without building a URL object per request. */
export function splitUrl(url: string): { path: string; query: URLSearchParams | null } {
  const q = url.indexOf('?');
  if (q < 0) return { path: url, query: null };
  return { path: url.slice(0, q), query: new URLSearchParams(url.slice(q + 1)) };
}
