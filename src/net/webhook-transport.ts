// Outbound webhook POSTs over node:http(s). Every address a URL resolves to is checked at connect
// time (the lookup the socket itself uses), so a name that resolves to a public address when the
// webhook is registered and to a private one later (DNS rebinding) is still refused. Loopback,
// private, link-local, carrier-grade NAT, multicast and reserved ranges are refused unless the
// operator allows them (WEBHOOK_ALLOW_PRIVATE). Redirects are not followed.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Webhook } from 'standardwebhooks';
import type { WebhookTransport } from '../domain/webhooks.js';

/** Bytes of a receiver's answer read before the connection is dropped (the body is not kept). */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** Why an address may not be called, or null when it is an ordinary public unicast address. */
export function addressRefusal(address: string): string | null {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.process(address); // IPv4-mapped IPv6 is judged as the IPv4 address it maps
  } catch {
    return `${address} is not an IP address`;
  }
  const range = parsed.range();
  return range === 'unicast' ? null : `${address} is a ${range} address`;
}

class RefusedAddressError extends Error {
  override name = 'RefusedAddressError';
}

/** Signs as the Standard Webhooks reference library does: v1,base64(HMAC-SHA256(key, id.timestamp.body)). */
export function signWebhook(secret: string, messageId: string, at: Date, body: string): string {
  return new Webhook(secret).sign(messageId, at, body);
}

export function createWebhookTransport(options: {
  allowPrivate: boolean;
  timeoutMs: number;
}): WebhookTransport {
  const check = (address: string) => (options.allowPrivate ? null : addressRefusal(address));

  // The socket's own lookup: resolve, then refuse if any address is off limits.
  const guardedLookup = (
    hostname: string,
    opts: LookupOptions,
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ) => {
    dnsLookup(hostname, { ...opts, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      for (const a of addresses) {
        const refusal = check(a.address);
        if (refusal)
          return callback(new RefusedAddressError(`refused: ${hostname} resolves to ${refusal}`), '');
      }
      if (opts.all) return callback(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };

  async function refusal(url: string): Promise<string | null> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return 'not a URL';
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'only http and https URLs';
    if (parsed.username || parsed.password) return 'credentials in the URL are not allowed';
    const host = parsed.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host)) return check(host);
    return new Promise((resolve) => {
      dnsLookup(host, { all: true }, (err, addresses) => {
        if (err) return resolve(`${host} does not resolve (${err.code ?? err.message})`);
        for (const a of addresses) {
          const r = check(a.address);
          if (r) return resolve(`${host} resolves to ${r}`);
        }
        resolve(null);
      });
    });
  }

  function post(url: string, headers: Record<string, string>, body: string): Promise<number> {
    const target = new URL(url);
    const host = target.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host)) {
      const r = check(host);
      if (r) return Promise.reject(new RefusedAddressError(`refused: ${r}`));
    }
    const client = target.protocol === 'https:' ? https : http;
    return new Promise<number>((resolve, reject) => {
      const req = client.request(
        target,
        {
          method: 'POST',
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          lookup: guardedLookup as never,
          timeout: options.timeoutMs,
        },
        (res) => {
          let read = 0;
          res.on('data', (chunk: Buffer) => {
            read += chunk.length;
            if (read > MAX_RESPONSE_BYTES) res.destroy();
          });
          res.on('close', () => resolve(res.statusCode ?? 0));
          res.on('error', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) =>
        reject(
          err instanceof RefusedAddressError ? err : new Error(`${err.code ?? 'error'}: ${err.message}`),
        ),
      );
      req.end(body);
    });
  }

  return { refusal, post };
}
