// Generated CSV uploads (random headers and widths, quoting right and wrong, blank lines, unicode,
// raw binary, oversized fields, raw bodies and multipart forms) against the real app and Redis:
// never a 5xx, every refusal a problem+json, and the server healthy afterwards.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { expectContract, expectStillHealthy, PROPERTY_ENV } from './contract.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ env: PROPERTY_ENV });
});
afterAll(async () => {
  await t?.close();
});

const cellText = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.double({ noNaN: false }).map(String),
  fc.integer().map(String),
  fc.constantFrom(
    '',
    'NA',
    'null',
    'NaN',
    '=HYPERLINK("x")',
    '"',
    '""',
    'a"b',
    '\n',
    '\r\n',
    ',',
    ' ',
    '\u0000',
    '\uFEFF',
  ),
  // A field far over MAX_LINE_BYTES now and then.
  fc.integer({ min: 9000, max: 30000 }).map((n) => 'x'.repeat(n)),
);

/** A cell as it appears in the file: raw (perhaps breaking the format) or quoted the RFC 4180 way. */
const cell = fc
  .tuple(cellText, fc.constantFrom('raw', 'quoted', 'quoted', 'halfQuoted'))
  .map(([text, how]) =>
    how === 'raw' ? text : how === 'quoted' ? `"${text.replace(/"/g, '""')}"` : `"${text}`,
  );

const csvText = fc
  .record({
    header: fc.array(cell, { minLength: 0, maxLength: 8 }),
    rows: fc.array(fc.array(cell, { minLength: 0, maxLength: 10 }), { maxLength: 30 }),
    eol: fc.constantFrom('\n', '\r\n', '\r'),
    blankEvery: fc.integer({ min: 0, max: 5 }),
    bom: fc.boolean(),
    trailingEol: fc.boolean(),
  })
  .map(({ header, rows, eol, blankEvery, bom, trailingEol }) => {
    const lines = [header.join(',')];
    rows.forEach((r, i) => {
      lines.push(r.join(','));
      if (blankEvery > 0 && i % blankEvery === 0) lines.push('');
    });
    return (bom ? '\uFEFF' : '') + lines.join(eol) + (trailingEol ? eol : '');
  });

/** Well-formed tables too, so some uploads succeed and the 201 path is exercised. */
const wellFormed = fc
  .record({
    names: fc.uniqueArray(fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_ ]{0,10}$/), {
      minLength: 1,
      maxLength: 6,
    }),
    rowCount: fc.integer({ min: 1, max: 20 }),
    seed: fc.integer(),
  })
  .chain(({ names, rowCount }) =>
    fc
      .array(
        fc.array(
          fc.oneof(
            fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
            fc.constantFrom('a', 'b', 'c', ''),
          ),
          {
            minLength: names.length,
            maxLength: names.length,
          },
        ),
        { minLength: rowCount, maxLength: rowCount },
      )
      .map((rows) => [names.join(','), ...rows.map((r) => r.join(','))].join('\n') + '\n'),
  );

const bytes = fc.oneof(
  { weight: 4, arbitrary: csvText.map((s) => Buffer.from(s, 'utf8')) },
  { weight: 2, arbitrary: wellFormed.map((s) => Buffer.from(s, 'utf8')) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2000 }).map((a) => Buffer.from(a)) },
  {
    weight: 1,
    // Text with binary bytes spliced in.
    arbitrary: fc
      .tuple(wellFormed, fc.uint8Array({ minLength: 1, maxLength: 20 }), fc.nat())
      .map(([s, junk, at]) => {
        const b = Buffer.from(s, 'utf8');
        const i = at % (b.length + 1);
        return Buffer.concat([b.subarray(0, i), Buffer.from(junk), b.subarray(i)]);
      }),
  },
);

const name = fc.option(fc.string({ unit: 'grapheme', maxLength: 40 }), { nil: undefined });

function multipart(file: Buffer, fileName: string, fieldName: string, extraName: string | undefined) {
  const boundary = '----bp' + Math.abs(file.length * 7919).toString(36) + 'x9';
  const parts: Buffer[] = [];
  if (extraName !== undefined) {
    parts.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\n${extraName}\r\n`),
    );
  }
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${fieldName}"; filename="${fileName}"\r\nContent-Type: text/csv\r\n\r\n`,
    ),
    file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  );
  return { payload: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

describe('generated CSV uploads', () => {
  it('when any CSV-like bytes are uploaded raw, then the answer is a 201 dataset or a 4xx problem, never a 5xx', async () => {
    let created = 0;
    await fc.assert(
      fc.asyncProperty(bytes, name, async (body, dsName) => {
        const res = await t.app.inject({
          method: 'POST',
          url: `/v1/datasets${dsName === undefined ? '' : `?name=${encodeURIComponent(dsName)}`}`,
          headers: { 'content-type': 'text/csv' },
          payload: body,
        });
        const parsed = expectContract(res, body.toString('utf8')) as
          { id: string; rowCount: number } | undefined;
        if (res.statusCode === 201) {
          created += 1;
          expect(parsed?.id).toMatch(/^ds_/);
          expect(Number.isInteger(parsed?.rowCount)).toBe(true);
        }
      }),
      // Numbers near the float64 limit: their column statistics overflow unless computed with care.
      { numRuns: 150, examples: [[Buffer.from('c\n1e308\n-1e308\n'), undefined]] },
    );
    expect(created).toBeGreaterThan(0);
    await expectStillHealthy(t.app);
  }, 60_000);

  it('when CSV-like bytes arrive in multipart forms (odd field names, file names and name fields), then never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        bytes,
        fc.constantFrom('file', 'file', 'data', '__proto__', ''),
        fc.string({ maxLength: 30 }).map((s) => s.replace(/["\r\n]/g, '')),
        fc.option(
          fc.string({ maxLength: 30 }).map((s) => s.replace(/\r|\n/g, '')),
          { nil: undefined },
        ),
        async (file, fieldName, fileName, extraName) => {
          const { payload, contentType } = multipart(file, fileName, fieldName, extraName);
          const res = await t.app.inject({
            method: 'POST',
            url: '/v1/datasets',
            headers: { 'content-type': contentType },
            payload,
          });
          expectContract(res, payload.toString('utf8'));
        },
      ),
      { numRuns: 100 },
    );
    await expectStillHealthy(t.app);
  }, 60_000);
});
