// Webhooks: a tenant registers endpoints for events; each event becomes one delivery per endpoint,
// signed following the Standard Webhooks convention (webhook-id, webhook-timestamp,
// webhook-signature = v1,base64(HMAC-SHA256(key, id.timestamp.body))) and tried through a queue
// with backoff until the receiver answers 2xx or the attempts run out. Every attempt is recorded
// on the delivery. Other parts of the product emit events through emitWebhookEvent.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { NotFoundError, TooManyRequestsError, UnprocessableError } from './errors.js';
import { derivedId, newId } from './ids.js';
import type { TenantId } from './ports.js';
import { IsoDateSchema, type ListQuery, type Page } from './schemas.js';

export const WEBHOOK_EVENT_TYPES = [
  'training-job.succeeded',
  'training-job.failed',
  'training-job.cancelled',
  'tuning-job.finished',
  'batch-prediction.finished',
] as const;
export const WebhookEventTypeSchema = z.enum(WEBHOOK_EVENT_TYPES);
export type WebhookEventType = z.infer<typeof WebhookEventTypeSchema>;

/** Endpoints one tenant may register. */
export const MAX_WEBHOOKS_PER_TENANT = 20;

export const WebhookCreateSchema = z
  .object({
    url: z
      .url({
        protocol: /^https?$/,
        error: 'must be an http:// or https:// URL (only http and https are accepted)',
      })
      .max(2000)
      .describe('http(s) URL that receives the POSTs'),
    events: z.array(WebhookEventTypeSchema).min(1).max(WEBHOOK_EVENT_TYPES.length),
    description: z.string().max(500).default(''),
  })
  .strict()
  .meta({ id: 'WebhookRequest' });
export type WebhookCreate = z.output<typeof WebhookCreateSchema>;

export const WebhookUpdateSchema = z
  .object({
    url: WebhookCreateSchema.shape.url.optional(),
    events: WebhookCreateSchema.shape.events.optional(),
    description: z.string().max(500).optional(),
  })
  .strict()
  .meta({ id: 'WebhookUpdate' });
export type WebhookUpdate = z.output<typeof WebhookUpdateSchema>;

export const WebhookSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(WebhookEventTypeSchema),
    description: z.string(),
    createdAt: IsoDateSchema,
  })
  .meta({ id: 'Webhook' });
export type Webhook = z.infer<typeof WebhookSchema>;

export const WebhookWithSecretSchema = WebhookSchema.extend({
  secret: z
    .string()
    .describe('whsec_ + base64 key: verify webhook-signature with it. Shown only when created'),
}).meta({ id: 'WebhookWithSecret' });

export const DeliveryStatusSchema = z.enum(['pending', 'succeeded', 'failed']);
export const WebhookDeliverySchema = z
  .object({
    id: z.string(),
    webhookId: z.string(),
    /** The webhook-id header: the same on every attempt of this delivery. */
    messageId: z.string(),
    eventType: WebhookEventTypeSchema,
    status: DeliveryStatusSchema,
    attempts: z.number().int(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    createdAt: IsoDateSchema,
    lastAttemptAt: IsoDateSchema.nullable(),
  })
  .meta({ id: 'WebhookDelivery' });
export type WebhookDelivery = z.infer<typeof WebhookDeliverySchema>;

/** A webhook as stored: with its signing secret, which only its creator sees once. */
export interface StoredWebhook extends Webhook {
  secret: string;
}
/** A delivery as stored: with the exact body every attempt sends. */
export interface StoredDelivery extends WebhookDelivery {
  body: string;
}

export interface WebhookStore {
  put(tenant: TenantId, webhook: StoredWebhook): Promise<void>;
  get(tenant: TenantId, id: string): Promise<StoredWebhook | null>;
  /** The webhook whatever its tenant (the delivery worker knows only ids). */
  read(id: string): Promise<StoredWebhook | null>;
  list(tenant: TenantId, query: ListQuery): Promise<Page<StoredWebhook>>;
  /** Every webhook of the tenant (at most MAX_WEBHOOKS_PER_TENANT). */
  all(tenant: TenantId): Promise<StoredWebhook[]>;
  remove(tenant: TenantId, id: string): Promise<boolean>;
  putDelivery(delivery: StoredDelivery): Promise<void>;
  getDelivery(id: string): Promise<StoredDelivery | null>;
  /** A webhook's deliveries, newest first. */
  listDeliveries(webhookId: string, query: ListQuery): Promise<Page<StoredDelivery>>;
}

export interface WebhookQueue {
  /** Queues the first attempt of a recorded delivery; retries are the queue's business. */
  enqueue(deliveryId: string): Promise<void>;
}

/** The network side: checks where a URL leads and sends a signed POST there. */
export interface WebhookTransport {
  /** Null when the URL may be called, else why not (e.g. it resolves to a private address). */
  refusal(url: string): Promise<string | null>;
  /** POSTs the body; resolves with the HTTP status, rejects on a network error, timeout or refused address. */
  post(url: string, headers: Record<string, string>, body: string): Promise<number>;
}

/** A new signing secret in the Standard Webhooks form: whsec_ + base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

const publicView = ({ secret: _secret, ...webhook }: StoredWebhook): Webhook => webhook;
const publicDelivery = ({ body: _body, ...delivery }: StoredDelivery): WebhookDelivery => delivery;

export interface WebhookService {
  create(tenant: TenantId, input: WebhookCreate): Promise<Webhook & { secret: string }>;
  get(tenant: TenantId, id: string): Promise<Webhook>;
  list(tenant: TenantId, query: ListQuery): Promise<Page<Webhook>>;
  update(tenant: TenantId, id: string, input: WebhookUpdate): Promise<Webhook>;
  remove(tenant: TenantId, id: string): Promise<void>;
  deliveries(tenant: TenantId, id: string, query: ListQuery): Promise<Page<WebhookDelivery>>;
}

export function createWebhookService(deps: {
  store: WebhookStore;
  transport: Pick<WebhookTransport, 'refusal'>;
  now?: () => Date;
}): WebhookService {
  const now = deps.now ?? (() => new Date());
  async function owned(tenant: TenantId, id: string): Promise<StoredWebhook> {
    const webhook = await deps.store.get(tenant, id);
    if (!webhook) throw new NotFoundError('webhook', id);
    return webhook;
  }
  async function checkUrl(url: string) {
    const refusal = await deps.transport.refusal(url);
    if (refusal)
      throw new UnprocessableError(`webhook url refused: ${refusal}`, [{ path: 'url', message: refusal }]);
  }
  return {
    async create(tenant, input) {
      await checkUrl(input.url);
      if ((await deps.store.all(tenant)).length >= MAX_WEBHOOKS_PER_TENANT) {
        throw new TooManyRequestsError(
          `this tenant already has ${MAX_WEBHOOKS_PER_TENANT} webhooks; delete one first`,
          60,
        );
      }
      const webhook: StoredWebhook = {
        id: newId('wh'),
        url: input.url,
        events: [...new Set(input.events)],
        description: input.description,
        createdAt: now().toISOString(),
        secret: newWebhookSecret(),
      };
      await deps.store.put(tenant, webhook);
      return { ...publicView(webhook), secret: webhook.secret };
    },
    get: async (tenant, id) => publicView(await owned(tenant, id)),
    async list(tenant, query) {
      const page = await deps.store.list(tenant, query);
      return { data: page.data.map(publicView), nextCursor: page.nextCursor };
    },
    async update(tenant, id, input) {
      const current = await owned(tenant, id);
      if (input.url !== undefined) await checkUrl(input.url);
      const next: StoredWebhook = {
        ...current,
        url: input.url ?? current.url,
        events: input.events ? [...new Set(input.events)] : current.events,
        description: input.description ?? current.description,
      };
      await deps.store.put(tenant, next);
      return publicView(next);
    },
    async remove(tenant, id) {
      if (!(await deps.store.remove(tenant, id))) throw new NotFoundError('webhook', id);
    },
    async deliveries(tenant, id, query) {
      await owned(tenant, id);
      const page = await deps.store.listDeliveries(id, query);
      return { data: page.data.map(publicDelivery), nextCursor: page.nextCursor };
    },
  };
}

/** Emits one event to every webhook of the tenant that subscribed to its type; resolves with the deliveries queued. */
/**
 * Emits an event to the tenant's webhooks that take its type; resolves with how many deliveries it
 * made. With an `eventKey` (say `job_…:succeeded`) the ids are derived from it: emitting the same
 * event again (an outbox sweep after a crash) makes no second delivery.
 */
export type WebhookEmitter = (
  tenant: TenantId,
  type: WebhookEventType,
  data: unknown,
  eventKey?: string,
) => Promise<number>;

/**
 * The function other parts of the product call when something a tenant may subscribe to happened
 * (a job ended, a tuning job finished, a batch prediction finished). The body is
 * `{"type", "timestamp", "data"}`; each webhook gets its own delivery with its own message id.
 */
export function createWebhookEmitter(deps: {
  store: Pick<WebhookStore, 'all' | 'putDelivery' | 'getDelivery'>;
  queue: WebhookQueue;
  now?: () => Date;
}): WebhookEmitter {
  const now = deps.now ?? (() => new Date());
  return async (tenant, type, data, eventKey) => {
    const targets = (await deps.store.all(tenant)).filter((w) => w.events.includes(type));
    const at = now().toISOString();
    for (const webhook of targets) {
      const messageId = eventKey ? derivedId('msg', eventKey) : newId('msg');
      const id = eventKey ? derivedId('dlv', `${eventKey}:${webhook.id}`) : newId('dlv');
      const known = eventKey ? await deps.store.getDelivery(id) : null;
      if (known) {
        // Emitted before: a delivery still pending may have missed its queue entry (the queue
        // ignores a second entry of the same id); one that was attempted to its end stays so.
        if (known.status === 'pending') await deps.queue.enqueue(id);
        continue;
      }
      const delivery: StoredDelivery = {
        id,
        webhookId: webhook.id,
        messageId,
        eventType: type,
        status: 'pending',
        attempts: 0,
        lastStatusCode: null,
        lastError: null,
        createdAt: at,
        lastAttemptAt: null,
        body: JSON.stringify({ type, timestamp: at, data }),
      };
      await deps.store.putDelivery(delivery);
      await deps.queue.enqueue(delivery.id);
    }
    return targets.length;
  };
}

/** What one attempt came to: the queue retries 'retry' (with backoff) and stops on the others. */
export type AttemptOutcome = 'succeeded' | 'retry' | 'failed' | 'gone';

/**
 * One attempt of a delivery: signs the stored body with the webhook's current secret, POSTs it,
 * and records the attempt. A 2xx succeeds; anything else is retried until `isLast`, when the
 * delivery is recorded failed. A delivery whose webhook was deleted is dropped ('gone').
 */
export async function attemptDelivery(
  deps: {
    store: WebhookStore;
    transport: WebhookTransport;
    sign: (secret: string, messageId: string, at: Date, body: string) => string;
    now?: () => Date;
  },
  deliveryId: string,
  isLast: boolean,
): Promise<AttemptOutcome> {
  const now = deps.now ?? (() => new Date());
  const delivery = await deps.store.getDelivery(deliveryId);
  if (!delivery || delivery.status !== 'pending') return 'gone';
  const webhook = await deps.store.read(delivery.webhookId);
  if (!webhook) {
    await deps.store.putDelivery({ ...delivery, status: 'failed', lastError: 'the webhook was deleted' });
    return 'gone';
  }
  const at = now();
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'Backprop-Webhooks/1',
    'webhook-id': delivery.messageId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': deps.sign(webhook.secret, delivery.messageId, at, delivery.body),
  };
  let statusCode: number | null = null;
  let error: string | null = null;
  try {
    statusCode = await deps.transport.post(webhook.url, headers, delivery.body);
    if (statusCode < 200 || statusCode > 299) error = `the receiver answered HTTP ${statusCode}`;
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
  }
  const ok = error === null;
  const status = ok ? 'succeeded' : isLast ? 'failed' : 'pending';
  await deps.store.putDelivery({
    ...delivery,
    status,
    attempts: delivery.attempts + 1,
    lastStatusCode: statusCode,
    lastError: error,
    lastAttemptAt: at.toISOString(),
  });
  return ok ? 'succeeded' : isLast ? 'failed' : 'retry';
}
