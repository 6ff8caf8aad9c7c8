// While a large upload is parsed, the API keeps serving: parsing runs in the CSV thread, so
// GET /healthz answers between the upload's chunks and the API's event loop stays mostly idle.
// Bounds are generous (a behaviour check on a shared 2-core machine, not a speed target).
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

/** About `bytes` of CSV: an id, two numbers and a category per row; returns the text and its row count. */
function largeCsv(bytes: number): { text: string; rows: number } {
  const lines = ['id,x,y,group'];
  let size = lines[0].length + 1;
  let rows = 0;
  while (size < bytes) {
    // Deterministic values (no Math.random): the content does not matter, only its size.
    const line = `${rows},${((rows * 7919) % 10007) / 101},${(rows % 997) * 0.37},g${rows % 13}`;
    lines.push(line);
    size += line.length + 1;
    rows += 1;
  }
  return { text: `${lines.join('\n')}\n`, rows };
}

describe('datasets: the API stays responsive during a large upload', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp();
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => t?.close());

  it('when a 16 MiB CSV is parsed, then /healthz answers throughout and the event loop stays mostly idle', async () => {
    const { text, rows } = largeCsv(16 * 1024 * 1024);
    // Warm the CSV thread with a tiny upload, so the measurement below covers parsing, not loading.
    const warm = await fetch(`${base}/v1/datasets?name=warm`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: 'a,b\n1,2\n',
    });
    expect(warm.status).toBe(201);

    const elu0 = performance.eventLoopUtilization();
    const started = performance.now();
    let finished = false;
    const upload = fetch(`${base}/v1/datasets?name=large`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: text,
    }).then(async (res) => {
      const body = (await res.json()) as { rowCount: number; columns: { name: string }[] };
      finished = true;
      return { status: res.status, body };
    });

    const latencies: number[] = [];
    while (!finished) {
      const t0 = performance.now();
      const res = await fetch(`${base}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
      latencies.push(performance.now() - t0);
      await sleep(25);
    }
    const res = await upload;
    const uploadMs = performance.now() - started;
    const elu = performance.eventLoopUtilization(elu0).utilization;

    expect(res.status).toBe(201);
    expect(res.body.rowCount).toBe(rows);
    expect(res.body.columns.map((c) => c.name)).toEqual(['id', 'x', 'y', 'group']);
    // The upload took long enough for several probes, and none of them waited for the parse.
    expect(latencies.length).toBeGreaterThanOrEqual(5);
    const seen = `upload ${Math.round(uploadMs)} ms, probes ${latencies.map(Math.round).join(',')} ms`;
    expect(Math.max(...latencies), seen).toBeLessThan(uploadMs / 10);
    // Parsing on this thread would keep its event loop busy nearly all the upload long (ELU ≈ 1).
    expect(elu, seen).toBeLessThan(0.5);
  });
});
