// A supertest body parser that keeps a text response (a CSV download) as one string, whatever its
// content type: `.buffer(true).parse(textBody)`.
import type { Response } from 'supertest';

/** Collects the response stream (superagent hands the raw response to a parser) into one string. */
export function textBody(res: Response, callback: (err: Error | null, body: string) => void): void {
  const stream = res as unknown as NodeJS.ReadableStream;
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => (text += chunk));
  stream.on('end', () => callback(null, text));
}
