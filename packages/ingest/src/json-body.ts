import { IngestError } from './ingest-error.js';

/**
 * Parses a request body as JSON (pure). `JSON.parse` itself never touches a prototype (a
 * `"__proto__"` key becomes an own property), but any later `Object.assign` or merge of such an
 * object would, so a `__proto__` key anywhere is refused with a 400 that names it rather than
 * silently dropped. The slower reviver pass runs only when the text could spell the key (plainly
 * or with `\u` escapes).
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') {
    throw new IngestError(400, 'INVALID_JSON', 'the body is empty; expected a JSON object');
  }
  const suspicious = text.includes('__proto__') || text.includes('\\u');
  try {
    return suspicious ? JSON.parse(text, refuseProtoKey) : JSON.parse(text);
  } catch (err) {
    if (err instanceof IngestError) throw err;
    throw new IngestError(400, 'INVALID_JSON', 'the body is not valid JSON', { cause: err });
  }
}

function refuseProtoKey(key: string, value: unknown): unknown {
  if (key === '__proto__') {
    throw new IngestError(
      400,
      'FORBIDDEN_KEY',
      'the body contains a "__proto__" key, which is not allowed anywhere',
      { field: '__proto__' },
    );
  }
  return value;
}
